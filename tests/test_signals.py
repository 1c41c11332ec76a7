"""Signals at every point of a run, from start-up on: each gives exit 128 + its number, a
message that says what is on disk, and no partial output (issue 13, item 3).

The child process is held at a named checkpoint (``PANELSEL_TEST_HOLD``, see
:mod:`panelsel.signals`) and the signal is sent once it says it is there, so nothing depends
on timing; its signal dispositions and mask are set here, not inherited from whatever started
the test runner.
"""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from panelsel import signals
from panelsel.commands.audit import audit
from panelsel.errors import SolverError
from panelsel.solve.backends import SolverConfig

from .conftest import EXAMPLE, child_dispositions

REG, QUO = EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml"


def _start(out: Path, hold: str, ignore: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    env = {**os.environ, "PANELSEL_TEST_CHECKPOINTS": "1", "PANELSEL_TEST_HOLD": hold}
    env.pop("PANELSEL_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "panelsel", "select", str(REG), str(QUO), "--seed", "7",
         "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=child_dispositions(ignore),
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen[str], name: str) -> list[str]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line.rstrip("\n"))
        if line.strip() == f"panelsel-checkpoint: {name}":
            return seen
    raise AssertionError(f"the run never reached {name!r}: {seen} {proc.wait()}")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


POINTS = ["started", "imported", "computing", "written"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_at_each_point_ends_the_run_with_nothing_written(
    tmp_path: Path, point: str, sig: signal.Signals
) -> None:
    out = tmp_path / "o"
    proc = _start(out, point)
    try:
        _wait_for(proc, point)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, stderr
    assert f"Interrupted ({sig.name}): nothing was written." in stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert _leftovers(tmp_path) == []  # no output folder, no staging folder


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_after_the_outputs_are_complete_says_so(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "o"
    proc = _start(out, "committed")
    try:
        _wait_for(proc, "committed")
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig
    assert f"Interrupted ({sig.name}) after the outputs were complete: {out}" in stderr
    assert "nothing was written" not in stderr
    assert _leftovers(tmp_path) == ["o"]
    assert audit(out, REG, QUO).passed  # the whole set is there and consistent


def test_an_inherited_ignored_sighup_stays_ignored_like_nohup(tmp_path: Path) -> None:
    out = tmp_path / "o"
    proc = _start(out, "computing", ignore=(signal.SIGHUP,))
    try:
        _wait_for(proc, "computing")
        proc.send_signal(signal.SIGHUP)  # ignored: the hold goes on
        proc.send_signal(signal.SIGTERM)  # always handled
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Interrupted (SIGTERM)" in stderr and "SIGHUP" not in stderr


def test_an_interrupt_during_import_highspy_is_an_interrupt_not_a_missing_solver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def interrupted_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "highspy":
            # what pybind11 makes of the handler's exception during the module's init
            signals._received.append(signal.SIGTERM)
            raise ImportError("initialization failed: Interrupted")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "highspy", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    try:
        with pytest.raises(signals.Interrupted) as caught:
            SolverConfig(name="highs")
        assert caught.value.exit_code == 128 + signal.SIGTERM
    finally:
        signals.start_command()


def test_a_missing_highspy_is_a_solver_error_never_a_silent_switch_to_cbc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def missing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "highspy":
            raise ModuleNotFoundError("No module named 'highspy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "highspy", raising=False)
    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(SolverError, match="--solver cbc"):
        SolverConfig(name="highs")
    assert SolverConfig(name="cbc").name == "cbc"


def test_signals_are_deferred_over_a_critical_section() -> None:
    received = []
    old = signal.signal(signal.SIGUSR1, lambda *a: received.append(1))
    try:
        with signals.deferred():
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
            os.kill(os.getpid(), signal.SIGUSR1)
            assert received == []
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        assert received == [1]
        old_term = signal.signal(signal.SIGTERM, signals._on_signal)
        try:
            inside = []
            with pytest.raises(signals.Interrupted), signals.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                inside.append("still running")  # the signal waits for the block's end
            assert inside == ["still running"]
        finally:
            signal.signal(signal.SIGTERM, old_term)
    finally:
        signal.signal(signal.SIGUSR1, old)
        signals.start_command()


def test_output_into_a_closed_pipe_ends_like_other_tools_and_keeps_the_files(
    tmp_path: Path,
) -> None:
    # `panelsel select ... | head -1` used to exit 1 (rich's reaction to a broken pipe), the
    # code for panelsel's own bugs, although every file was written
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "panelsel", "select", str(REG), str(QUO), "--seed", "7",
         "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=child_dispositions(),
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # closed before the run prints anything (it prints only at the end)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGPIPE
    assert audit(out, REG, QUO).passed
