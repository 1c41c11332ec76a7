"""The package's layers follow the data's path: each module imports only its own layer and
those below it, and no import cycle exists (run-time imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "panelsel"

LAYERS = [
    # bottom: exceptions, progress callbacks, signals, hashing, the lottery data types
    [
        "errors",
        "progress",
        "signals",
        "digest",
        "defaults",
        "lotteries",
        "versions",
        "encodings",
        "__init__",
    ],
    ["inputs"],  # CSV + quota file -> Model
    ["solve"],  # Model -> lottery over types
    ["lottery"],  # types -> people; m numbered panels; the seed's draw
    ["outputs"],  # the run record and the files
    ["runs"],  # what the commands share: the in-memory selection, the chain, option checks
    ["audit"],  # a finished selection checked from its files alone
    ["commands", "api"],  # one module per command; the library's one import
    ["cli", "console", "entry", "__main__", "web"],  # typer / rich; the local web page
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """The panelsel modules ``path`` imports, anywhere in the file (TYPE_CHECKING-only
    imports excluded: they do not run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("panelsel"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("panelsel"))
    return found


MODULES = _modules()


def _graph() -> dict[str, set[str]]:
    return {m: {i for i in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_it(module: str) -> None:
    mine = _layer(module)
    above = sorted(i for i in _graph()[module] if _layer(i) > mine and i != "panelsel")
    assert above == [], f"{module} (layer {mine}) imports {above} from a layer above"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (depth-first search), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, set()) - {"panelsel"}):
            if state.get(n) == 1:
                return [*path[path.index(n) :], n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_there_is_no_import_cycle() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_can_fail() -> None:
    # a cycle through three modules is found, and an upward import is seen as one
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert _layer("panelsel.commands.select") > _layer("panelsel.solve.colgen")
    assert _layer("panelsel.lottery.compute") > _layer("panelsel.solve.protocol")


def test_no_command_imports_another() -> None:
    # what two commands share lives in panelsel.runs (or below), never in a command
    commands = {m for m in MODULES if m.startswith("panelsel.commands.")}
    graph = _graph()
    crossing = sorted((m, i) for m in commands for i in graph[m] if i in commands)
    assert crossing == [], f"a command imports another: {crossing}"


def test_only_console_imports_rich_and_only_cli_imports_typer() -> None:
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if name != "panelsel.console":
            assert "import rich" not in text and "from rich" not in text, name
        if name != "panelsel.cli":
            assert "import typer" not in text, name
