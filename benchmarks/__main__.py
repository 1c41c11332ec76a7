"""Run ``panelsel select`` as a separate process on benchmark pools and print a table.

Each run is a fresh process running the ``panelsel`` entry point, timed with a monotonic
clock around the whole process; the process reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF)``) on exit.  The figures include start-up, loading and
writing, as a user sees them.

Usage::

    python -m benchmarks [--shared ../shared/benchdata] [--solver highs]
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

REPO = Path(__file__).resolve().parents[1]

_CHILD = """\
import atexit, resource, sys
atexit.register(lambda: sys.stderr.write(
    "\\nPEAK_KIB %d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
from panelsel.cli import main
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "benchdata")
    parser.add_argument("--solver", default="highs")
    args = parser.parse_args()
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
    header = (
        f"{'pool':<20} {'n':>6} {'k':>4} {'cats':>4} {'types':>6} {'algorithm':<9} "
        f"{'seconds':>8} {'peak MiB':>8} {'min prob':>9}"
    )
    print(f"panelsel benchmarks, solver {args.solver}, {os.cpu_count()} cores")
    print(header)
    print("-" * len(header))
    for name, pool, quotas, extra in cases:
        r = run_panelsel(pool, quotas, [*extra, "--solver", args.solver])
        if "error" in r:
            print(f"{name:<20} error after {r['seconds']:.2f} s: {r['error']}")
            continue
        d = r["data"]
        assert isinstance(d, dict)
        cats = len({q["category"] for q in d["quotas"]})
        print(
            f"{name:<20} {d['pool_size']:>6} {d['panel_size']:>4} {cats:>4} {d['types']:>6} "
            f"{d['algorithm']:<9} {r['seconds']:>8.2f} {r['peak_mib']:>8.0f} "
            f"{d['probability']['min']:>9.5f}"
        )


if __name__ == "__main__":
    main()
