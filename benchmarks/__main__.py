"""Run ``panelsel select`` as a separate process on benchmark pools and print a table.

Each run is a fresh process running the ``panelsel`` entry point, timed with a monotonic
clock around the whole process; the process reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF)``) on exit.  The figures include start-up, loading and
writing, as a user sees them.

Usage::

    python -m benchmarks [--shared ../shared/benchdata] [--solver highs]
                         [--generated 500,2000,10000] [--skewed 500,2000]
                         [--national 1,2] [--council 0] [--large 1000000]
                         [--time-limit 600]
                         [--peer-python PATH] [--panels 1000]

With ``--peer-python`` (an interpreter that can import sortition_algorithms, for example
``pip install -e '.[peer]'`` or a separate venv), sortition-algorithms' LEXIMIN runs on the
same pools in the same run (``benchmarks/peer.py``; pools with a categories CSV only) and the
table shows its time and the ratio.

Generated pools come from :mod:`benchmarks.generate` (seed 0): n registrants, k seats and
6 (n = 500), 8 (n >= 2000) correlated categories with quotas at population shares ± 5%.
Skewed pools (``--skewed``) have quotas at ± 3% and a stronger volunteering skew, so that
the pool is far from the quotas and LEXIMIN probabilities differ between groups.
National pools (``--national SEEDS``, :func:`benchmarks.generate.national`) have the shape
of ``hard_1727`` with narrow quotas on 7 categories, so that their LP relaxation has a gap.  The
``method`` column says how LEXIMIN was reached: ``bound`` (the LP relaxation's LEXIMIN
realised exactly by a repaired design), ``cg`` (level-by-level column generation, each
level bounded by the relaxation; ``lottery.json``'s ``stats.levels_at_bound`` and
``rest_at_bound`` say how many levels reached that bound).

With ``--panels M`` every pool is also run with its lottery rounded to M numbered panels
(``select --panels``), and the table adds that run's seconds, the rounding method, the
largest change of a probability and the worst loss, against the paper's bound, all in
units of 1/M.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks import generate
from benchmarks.stress import ALL_RUNS, RUN_TIME_LIMIT, run_stress

REPO = Path(__file__).resolve().parents[1]
MEMORY_BUDGET_MIB = 2048
"""The peak resident memory a run may use (the issue's target for 10,000 registrants, kept
for every pool up to 1,000,000 rows); runs above it are flagged in the table."""

_CHILD = """\
import atexit, resource, sys

def peak_kib():
    # VmHWM is this program's own high-water mark; ru_maxrss survives exec, so after a fork
    # from a large parent (the benchmark holding a generated million-row pool) it reports
    # the parent's size instead
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

atexit.register(lambda: sys.stderr.write("\\nPEAK_KIB %d\\n" % peak_kib()))
from panelsel.entry import main
main()
"""


def run_panelsel(pool: Path, quotas: Path, extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable,
            "-c",
            _CHILD,
            "select",
            str(pool),
            str(quotas),
            "--out",
            out,
            "--force",
            "--seed",
            "1",
            "--json",
            *extra,
        ]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        peaks = [line for line in proc.stderr.splitlines() if line.startswith("PEAK_KIB ")]
        peak_kib = int(peaks[-1].split()[1]) if peaks else 0
        if proc.returncode != 0:
            return {
                "error": proc.stderr.strip().splitlines()[0] if proc.stderr else "failed",
                "seconds": seconds,
            }
        data = json.loads(proc.stdout)
        return {"seconds": seconds, "peak_mib": peak_kib / 1024, "data": data}


def run_peer(python: str, pool: Path, quotas: Path, k: int, limit: float, ours: float) -> str:
    """sortition-algorithms' LEXIMIN in its own process: seconds, min probability, ratio."""
    cmd = [python, str(REPO / "benchmarks" / "peer.py"), str(pool), str(quotas), str(k)]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return f"{'>' + format(limit, '.0f'):>8} {'-':>9} {'>' + format(limit / ours, '.0f'):>7}"
    wall = time.monotonic() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    data = json.loads(lines[-1]) if lines else {"error": proc.stderr.strip()[-200:]}
    if "error" in data:
        return f"{'failed':>8} ({data['error'][:60]})"
    return f"{wall:>8.2f} {data['min_probability']:>9.5f} {wall / ours:>6.1f}x"


def _split(d: dict[str, Any], seconds: float) -> str:
    """Proven or not, LEXIMIN levels, and the run's seconds split into the master LPs, the
    pricing problems and everything else (start-up, relaxation, expansion, writing)."""
    solver = d.get("solver_seconds") or {}
    master = float(solver.get("LEXIMIN master LP", 0.0))
    pricing = float(solver.get("pricing problem", 0.0))
    levels = d.get("stats", {}).get("levels", "-")
    proven = "yes" if d.get("proven_optimal") else "NO"
    return (
        f"{proven:>6} {levels!s:>6} {master:>7.2f} {pricing:>7.2f} "
        f"{seconds - master - pricing:>7.2f}"
    )


METHODS = {
    "LP relaxation bound attained": "bound",
    "column generation": "cg",
    "the LP relaxation's optimum attained": "bound",
    "column generation with tangent cuts": "cg",
}
"""Short names for the table: how the lottery was reached (LEXIMIN's two methods of
panelsel.solve.algorithms.leximin, then Goldilocks' and MINIMAX's of
panelsel.solve.algorithms.goldilocks: the relaxation's optimum, or column generation)."""


def _method(data: dict[str, object]) -> str:
    stats = data.get("stats")
    method = stats.get("method", "") if isinstance(stats, dict) else ""
    return METHODS.get(str(method), str(method)[:8])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "benchdata")
    parser.add_argument(
        "--hard",
        default="",
        help="comma-separated pools of --shared whose LP relaxation has a gap "
        "(hard_1727,hard_10000); use with --time-limit and --best-effort",
    )
    parser.add_argument(
        "--best-effort",
        action="store_true",
        help="pass --best-effort: a run stopped by --time-limit is shown, marked unproven",
    )
    parser.add_argument(
        "--repeated",
        default="",
        help="comma-separated sizes of the bundled example repeated to that many rows, each at "
        "its own address (e.g. 20000,200000): few types, very many people",
    )
    parser.add_argument("--solver", default="highs")
    parser.add_argument(
        "--algorithms",
        default="leximin",
        help="comma-separated algorithms to run on every pool, in this order (e.g. "
        "leximin,goldilocks: the 'x first' column is each run's seconds over the first's)",
    )
    parser.add_argument(
        "--generated",
        default="500,2000",
        help="comma-separated pool sizes to generate (500, 2000, 10000)",
    )
    parser.add_argument(
        "--skewed",
        default="500,2000",
        help="comma-separated sizes of strongly skewed generated pools (quotas ± 3%%, "
        "volunteering skew 2.5): LEXIMIN is not k/n for everyone there",
    )
    parser.add_argument(
        "--national",
        default="",
        help="comma-separated seeds of national-style pools whose LP relaxation has a gap "
        "(benchmarks.generate.national: 1,727 registrants, 110 seats, 7 categories)",
    )
    parser.add_argument(
        "--council",
        default="",
        help="comma-separated seeds of council-style pools (benchmarks.generate.council: "
        "600 registrants, 40 seats, 7 categories at narrow quotas, the household rule)",
    )
    parser.add_argument(
        "--large",
        default="",
        help="comma-separated sizes of very large generated pools (e.g. 1000000), 150 seats, "
        "8 categories, checked against the memory budget",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=600.0,
        help="panelsel --time-limit for each run, seconds",
    )
    parser.add_argument(
        "--peer-python", default=None, help="python that can import sortition_algorithms (optional)"
    )
    parser.add_argument("--peer-time-limit", type=float, default=1800.0)
    parser.add_argument(
        "--panels", type=int, default=None, help="round to this many panels (select --panels)"
    )
    parser.add_argument(
        "--stress",
        type=int,
        default=0,
        metavar="N",
        help="instead of the tables: the differential stress test on N generated pools whose "
        "quotas are feasible by construction, every algorithm with HiGHS and CBC, every "
        "result checked independently (benchmarks/stress.py); exits 1 on any failure",
    )
    parser.add_argument("--stress-seed", type=int, default=0, help="the first instance's seed")
    parser.add_argument("--jobs", type=int, default=1, help="--stress: instances run at once")
    parser.add_argument(
        "--stress-algorithms",
        default=",".join(ALL_RUNS),
        help="--stress: comma-separated algorithms, and 'check' for the verdicts of "
        "panelsel check (default: all)",
    )
    parser.add_argument(
        "--stress-solvers",
        default="highs,cbc",
        help="--stress: comma-separated solvers (default: both)",
    )
    parser.add_argument(
        "--stress-time-limit",
        type=float,
        default=RUN_TIME_LIMIT,
        help="--stress: seconds per run; a run that reaches it gives a best-effort lottery, "
        "checked like the others and counted as not proven",
    )
    args = parser.parse_args()
    if args.stress:
        failures = run_stress(
            args.stress,
            first_seed=args.stress_seed,
            jobs=args.jobs,
            algorithms=args.stress_algorithms.split(","),
            solvers=args.stress_solvers.split(","),
            time_limit=args.stress_time_limit,
        )
        raise SystemExit(1 if failures else 0)
    scratch = tempfile.TemporaryDirectory()
    cases = [
        (
            "examples/wellbeing",
            REPO / "examples/wellbeing/registrants.csv",
            REPO / "examples/wellbeing/quotas.yaml",
            [],
        )
    ]
    for name in ("example_small_20", "example_large_200"):
        folder = args.shared / name
        if folder.is_dir():
            cases.append(
                (
                    name,
                    folder / "respondents.csv",
                    folder / "categories.csv",
                    ["--panel-size", name.rsplit("_", 1)[1]],
                )
            )
        else:
            print(f"skipping {name}: {folder} not found", file=sys.stderr)
    shapes = {500: (22, 6), 2000: (100, 8), 10000: (150, 8)}
    for size in (int(x) for x in args.generated.split(",") if x.strip()):
        k, n_categories = shapes.get(size, (max(10, size // 20), 8))
        pool, quotas = generate.write(
            Path(scratch.name) / f"gen{size}", *generate.generate(size, k, n_categories, seed=0)
        )
        cases.append((f"generated {size}/{k}/{n_categories}", pool, quotas, []))
    for size in (int(x) for x in args.skewed.split(",") if x.strip()):
        k, n_categories = shapes.get(size, (max(10, size // 20), 8))
        pool, quotas = generate.write(
            Path(scratch.name) / f"skewed{size}",
            *generate.generate(size, k, n_categories, seed=0, volunteer_skew=2.5, quota_band=0.03),
        )
        cases.append((f"skewed {size}/{k}/{n_categories}", pool, quotas, []))
    for name in (x.strip() for x in args.hard.split(",") if x.strip()):
        folder = args.shared / name
        if folder.is_dir():
            cases.append((name, folder / "respondents.csv", folder / "quotas.yaml", []))
        else:
            print(f"skipping {name}: {folder} not found", file=sys.stderr)
    for seed in (int(x) for x in args.national.split(",") if x.strip()):
        pool, quotas = generate.write(
            Path(scratch.name) / f"national{seed}", *generate.national(1727, 110, seed=seed)
        )
        cases.append((f"national seed {seed}", pool, quotas, []))
    for seed in (int(x) for x in args.council.split(",") if x.strip()):
        pool, quotas = generate.write(
            Path(scratch.name) / f"council{seed}", *generate.council(seed=seed)
        )
        cases.append((f"council seed {seed}", pool, quotas, []))
    for size in (int(x) for x in args.repeated.split(",") if x.strip()):
        pool = generate.repeat_example(Path(scratch.name) / f"repeated{size}.csv", size)
        cases.append((f"example x {size}", pool, REPO / "examples/wellbeing/quotas.yaml", []))
    for size in (int(x) for x in args.large.split(",") if x.strip()):
        pool, quotas = generate.write(
            Path(scratch.name) / f"large{size}", *generate.generate(size, 150, 8, seed=0)
        )
        cases.append((f"large {size}/150/8", pool, quotas, []))
    peer_quotas: dict[str, tuple[Path, int]] = {}
    for name, _, quotas, extra in cases:
        csv_quotas = quotas.with_name("categories.csv")
        if csv_quotas.exists():
            k = int(extra[1]) if extra else int(yaml.safe_load(quotas.read_text())["panel_size"])
            peer_quotas[name] = (csv_quotas, k)
    header = (
        f"{'pool':<24} {'n':>6} {'k':>4} {'cats':>4} {'types':>6} {'algorithm':<9} "
        f"{'method':<8} {'seconds':>8} {'peak MiB':>8} {'min prob':>9} {'proven':>6} "
        f"{'levels':>6} {'master':>7} {'pricing':>7} {'other':>7} {'max prob':>9} "
        f"{'x first':>7}"
    )
    if args.panels:
        header += f" {'s panels':>8} {'rounding':<8} {'change·m':>8} {'loss·m':>7} {'bound·m':>7}"
    if args.peer_python:
        header += f" {'peer s':>8} {'peer min':>9} {'ratio':>7}"
    print(f"panelsel benchmarks, solver {args.solver}, {os.cpu_count()} cores")
    print(header)
    print("-" * len(header))
    algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    runs = [(case, algorithm) for case in cases for algorithm in algorithms]
    first_seconds: dict[str, float] = {}
    for (name, pool, quotas, extra), algorithm in runs:
        options = [*extra, "--solver", args.solver, "--time-limit", str(args.time_limit)]
        options += ["--algorithm", algorithm]
        if args.best_effort:
            options.append("--best-effort")
        r = run_panelsel(pool, quotas, options)
        if "error" in r:
            print(f"{name:<24} error after {r['seconds']:.2f} s: {r['error']}", flush=True)
            continue
        d = r["data"]
        assert isinstance(d, dict)
        cats = len({q["category"] for q in d["quotas"]})
        line = (
            f"{name:<24} {d['pool_size']:>6} {d['panel_size']:>4} {cats:>4} {d['types']:>6} "
            f"{d['algorithm']:<9} {_method(d):<8} {r['seconds']:>8.2f} {r['peak_mib']:>8.0f} "
            f"{d['probability']['min']:>9.5f} {_split(d, float(r['seconds']))}"
        )
        first_seconds.setdefault(name, float(r["seconds"]))
        line += (
            f" {d['probability']['max']:>9.5f} {float(r['seconds']) / first_seconds[name]:>7.2f}"
        )
        if args.panels:
            rounded = run_panelsel(pool, quotas, [*options, "--panels", str(args.panels)])
            if "error" in rounded:
                line += f" --panels failed: {rounded['error']}"
            else:
                m, dr = args.panels, rounded["data"]
                assert isinstance(dr, dict)
                fig = dr["rounding"]
                line += (
                    f" {rounded['seconds']:>8.2f} {str(fig['method']).split(':')[0]:<8} "
                    f"{fig['largest_change'] * m:>8.2f} {fig['worst_loss'] * m:>7.2f} "
                    f"{fig['bound'] * m:>7.2f}"
                )
        if args.peer_python and name in peer_quotas:
            line += " " + run_peer(
                args.peer_python,
                pool,
                *peer_quotas[name],
                args.peer_time_limit,
                float(r["seconds"]),
            )
        if r["peak_mib"] > MEMORY_BUDGET_MIB:
            line += f"  OVER THE {MEMORY_BUDGET_MIB} MiB BUDGET"
        print(line, flush=True)


if __name__ == "__main__":
    main()
