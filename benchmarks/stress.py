"""A differential stress test: pools whose quotas are feasible by construction, every
algorithm with both solvers, every result checked independently.

Each instance is shaped like a real pool: 50-3,000 people, 2-9 categories with skewed
value shares (so some values are scarce), sometimes a multi-valued column ("services
used", a person listing none, one or several), sometimes households (an address shared
by 2-3 registrants, at most 1 or 2 per household on the panel).  A random panel that keeps
the household rule is drawn, and every quota is that panel's count of the value, exactly
(``min == max``) or give or take one seat; a value the panel does not hold sometimes gets
``max: 0``.  So at least one valid panel exists, and an "infeasible" verdict is wrong.

For every algorithm and solver, :func:`check_run` runs ``select`` into a fresh folder and
then checks it without trusting panelsel's model:

- the run did not fail (exit 3 is always wrong here; a solver failure is a failure too);
- ``audit`` (its independent re-reading of the files, the quota checks of every panel, the
  marginals and the optimality certificate; without recompute) passes;
- the drawn panel meets every quota, counted here from the raw rows and the quota document,
  and keeps the household rule;
- the probabilities sum to k;
- HiGHS and CBC agree where the optimum is unique: LEXIMIN's and Nash's per-person
  probabilities, MAXIMIN's minimum (within :data:`AGREEMENT_TOLERANCE`).

``check`` (the verdicts alone, as ``panelsel check`` gives them) runs with both solvers too,
and is checked against the panel the quotas were made from and an independent MILP
(:func:`check_verdicts`): the quotas are called feasible; that panel's count of every value
lies in the range ``check`` reports as fillable; none of its members is called "can never be
selected"; and for a sample of the registrants ``check`` calls unselectable and of the ranges'
ends, scipy's ``milp`` over the raw rows (not panelsel's model) confirms the claim.

A run that reaches its time limit (``--stress-time-limit``, default :data:`RUN_TIME_LIMIT`)
is run with ``--best-effort``, so its lottery is still checked like any other (its audit's
``optimality`` check excepted, which a best-effort lottery does not claim); it is counted
as "not proven", not as a failure.

``python -m benchmarks --stress N [--stress-seed S] [--jobs J] [--stress-algorithms A,B]
[--stress-time-limit T]`` prints one line per failure and a table of runs and failures per
algorithm and solver.
"""

from __future__ import annotations

import csv
import functools
import math
import shutil
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

AGREEMENT_TOLERANCE = 1e-4
"""How far HiGHS's and CBC's unique optima (per-person probabilities) may differ."""
SUM_TOLERANCE = 1e-6
"""How far the probabilities may sum from k, besides the rounding of each written one."""
RUN_TIME_LIMIT = 120.0
"""Seconds a single run may take; a run that reaches it is counted as timed out (a
time-limit exit says so truthfully: it is slowness, not a wrong verdict), and listed."""
SEPARATOR = ";"
ALL_ALGORITHMS = ("leximin", "maximin", "nash", "goldilocks", "minimax", "legacy")
CHECK = "check"
"""The pseudo-algorithm of the verdict runs (``panelsel check``, :func:`check_verdicts`)."""
ALL_RUNS = (CHECK, *ALL_ALGORITHMS)
MILP_TIME_LIMIT = 20.0
"""Seconds for each independent MILP of :func:`check_verdicts`; one that runs out confirms
nothing and is counted as unconfirmed, not as a failure."""
MILP_SAMPLE = 3
"""How many exclusion groups and how many range ends per instance the MILP confirms."""
SOLVERS = ("highs", "cbc")
LEGACY_SAMPLES = 50
LEGACY_GIVES_UP = "got stuck"
"""What the legacy procedure's error says when its greedy runs fail (not a failure here)."""


@dataclass
class Instance:
    """A generated pool: the CSV's header and rows, the quota document and the panel the
    quotas were made from (row indices)."""

    seed: int
    header: list[str]
    rows: list[list[str]]
    quotas: dict[str, Any]
    panel: list[int]

    @property
    def shape(self) -> str:
        cats = len(self.quotas["categories"])
        extra = ""
        if any("multi_value" in c for c in self.quotas["categories"].values()):
            extra += " multi"
        if "households" in self.quotas:
            extra += f" households≤{self.quotas['households']['max_per_household']}"
        return f"seed {self.seed}: {len(self.rows)} people, k={self.quotas['panel_size']}, " + (
            f"{cats} categories{extra}"
        )

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        pool, quotas = folder / "pool.csv", folder / "quotas.yaml"
        with pool.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(self.header)
            w.writerows(self.rows)
        quotas.write_text(yaml.safe_dump(self.quotas, sort_keys=True), encoding="utf-8")
        return pool, quotas


def make_instance(seed: int) -> Instance:
    """One instance, a function of ``seed`` alone."""
    rng = np.random.default_rng(seed)
    n = round(math.exp(rng.uniform(math.log(50), math.log(3000))))
    k = int(rng.integers(max(4, n // 60), max(5, min(n // 3, 150)) + 1))
    n_cats = int(rng.integers(2, 10))
    latent = rng.normal(size=n)
    header = ["id"]
    columns: list[list[list[str]]] = []  # per category, per person: the values listed
    multi: list[bool] = []
    for c in range(n_cats):
        n_values = int(rng.integers(2, 8))
        shares = rng.dirichlet(np.full(n_values, rng.choice([0.4, 1.0, 3.0])))
        shares = np.maximum(shares, 0.004)
        loadings = rng.normal(scale=rng.choice([0.0, 0.5, 1.2]), size=n_values)
        logits = np.log(shares)[None, :] + latent[:, None] * loadings[None, :]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        names = [f"c{c}v{j}" for j in range(n_values)]
        is_multi = c == n_cats - 1 and n_cats >= 3 and rng.random() < 0.35
        per_person: list[list[str]] = []
        for i in range(n):
            if is_multi:
                listed = [v for v, p in zip(names, probs[i], strict=True) if rng.random() < p]
                per_person.append(listed)
            else:
                per_person.append([names[int(rng.choice(n_values, p=probs[i]))]])
        header.append(f"cat{c}")
        columns.append(per_person)
        multi.append(is_multi)
    # households: some people share an address with one or two others
    household = np.arange(n)
    use_households = rng.random() < 0.3
    if use_households:
        shared = rng.random(n) < rng.uniform(0.1, 0.4)
        for i in np.flatnonzero(shared).tolist():
            household[i] = household[int(rng.integers(0, n))]
        header.append("address")
    cap = int(rng.choice([1, 1, 2])) if use_households else n
    rows = []
    for i in range(n):
        row = [f"R{i:05d}"] + [SEPARATOR.join(col[i]) for col in columns]
        if use_households:
            row.append(f"{household[i]} Some Street")
        rows.append(row)
    # a random panel that keeps the household rule
    panel: list[int] = []
    taken: dict[int, int] = {}
    for i in rng.permutation(n).tolist():
        if taken.get(int(household[i]), 0) < cap:
            panel.append(i)
            taken[int(household[i])] = taken.get(int(household[i]), 0) + 1
            if len(panel) == k:
                break
    k = len(panel)
    exact_share = rng.choice([0.0, 0.3, 0.8])
    categories: dict[str, Any] = {}
    for c, col in enumerate(columns):
        values = sorted({v for person in col for v in person})
        quotas: dict[str, Any] = {}
        for v in values:
            count = sum(v in col[i] for i in panel)
            if count == 0 and rng.random() < 0.3:
                quotas[v] = {"min": 0, "max": 0}
            elif rng.random() < exact_share:
                quotas[v] = {"min": count, "max": count}
            else:
                quotas[v] = {
                    "min": max(0, count - int(rng.integers(0, 2))),
                    "max": count + int(rng.integers(0, 2)),
                }
        entry: dict[str, Any] = {"column": f"cat{c}", "quotas": quotas}
        if multi[c]:
            entry["multi_value"] = SEPARATOR
        categories[f"cat{c}"] = entry
    doc: dict[str, Any] = {"panel_size": k, "id_column": "id", "categories": categories}
    if use_households:
        doc["households"] = {"columns": ["address"], "max_per_household": cap}
    return Instance(seed, header, rows, doc, sorted(panel))


def quota_problems(instance: Instance, members: Sequence[str]) -> list[str]:
    """Which quotas the panel ``members`` (ids) breaks, counted from the raw rows: the
    check that does not use panelsel's model."""
    index = {row[0].strip().casefold(): row for row in instance.rows}
    problems = []
    chosen = [index[m.strip().casefold()] for m in members]
    if len(chosen) != instance.quotas["panel_size"]:
        problems.append(f"{len(chosen)} members, not {instance.quotas['panel_size']}")
    for name, entry in instance.quotas["categories"].items():
        col = instance.header.index(entry["column"])
        sep = entry.get("multi_value")
        for value, q in entry["quotas"].items():
            count = sum(value in (row[col].split(sep) if sep else [row[col]]) for row in chosen)
            if not q["min"] <= count <= q["max"]:
                problems.append(f"{name}={value}: {count} not in [{q['min']}, {q['max']}]")
    rule = instance.quotas.get("households")
    if rule:
        col = instance.header.index(rule["columns"][0])
        per: dict[str, int] = {}
        for row in chosen:
            per[row[col]] = per.get(row[col], 0) + 1
        over = [a for a, c in per.items() if c > rule["max_per_household"]]
        if over:
            problems.append(f"households over the rule: {over[:3]}")
    return problems


def _raw_constraints(instance: Instance) -> tuple[Any, list[float], list[float], list[str]]:
    """The panel rules over people, from the raw rows and the quota document (not
    panelsel's model): ``lo <= A x <= hi`` with one row for the panel size, one per quota
    value, one per household; and the row names."""
    import scipy.sparse as sp

    n = len(instance.rows)
    rows: list[list[int]] = [list(range(n))]
    k = instance.quotas["panel_size"]
    lo: list[float] = [k]
    hi: list[float] = [k]
    names = ["panel size"]
    for name, entry in instance.quotas["categories"].items():
        col = instance.header.index(entry["column"])
        sep = entry.get("multi_value")
        for value, q in entry["quotas"].items():
            rows.append(
                [
                    i
                    for i, row in enumerate(instance.rows)
                    if value in (row[col].split(sep) if sep else [row[col]])
                ]
            )
            lo.append(q["min"])
            hi.append(q["max"])
            names.append(f"{name}={value}")
    rule = instance.quotas.get("households")
    if rule:
        col = instance.header.index(rule["columns"][0])
        homes: dict[str, list[int]] = {}
        for i, row in enumerate(instance.rows):
            homes.setdefault(row[col], []).append(i)
        for address, members in homes.items():
            if len(members) > rule["max_per_household"]:
                rows.append(members)
                lo.append(0)
                hi.append(rule["max_per_household"])
                names.append(f"household {address}")
    data = [1.0 for r in rows for _ in r]
    indices = [i for r in rows for i in r]
    indptr = np.cumsum([0, *(len(r) for r in rows)])
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(rows), n))
    return matrix, lo, hi, names


def independent_milp(
    instance: Instance, objective: Any = None, forced: int | None = None
) -> tuple[str, float | None]:
    """scipy's ``milp`` over people on the raw rows: ``("optimal", value)`` (maximising
    ``objective``, default 0), ``("infeasible", None)`` or ``("unknown", None)`` (time
    limit or another status)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    matrix, lo, hi, _ = _raw_constraints(instance)
    n = matrix.shape[1]
    lower = np.zeros(n)
    if forced is not None:
        lower[forced] = 1.0
    c = -np.asarray(objective, dtype=np.float64) if objective is not None else np.zeros(n)
    result = milp(
        c,
        constraints=LinearConstraint(matrix, lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(lower, np.ones(n)),
        options={"time_limit": MILP_TIME_LIMIT},
    )
    if result.status == 0:
        return "optimal", -float(result.fun)
    if result.status == 2:
        return "infeasible", None
    return "unknown", None


def check_verdicts(instance: Instance, solver: str, outcome: Outcome) -> None:
    """``panelsel check`` on the instance, every verdict checked (module doc); failures and
    the number of claims left unconfirmed (a MILP at its time limit) go into ``outcome``."""
    from panelsel.commands.check import check

    work = Path(tempfile.mkdtemp(prefix="panelsel-verdicts-"))
    try:
        pool, quotas = instance.write(work)
        diagnosis = check(pool, quotas, solver=solver, relaxed_out=work / "relaxed.yaml")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not diagnosis.feasible:
        outcome.failures.append(f"check calls feasible quotas infeasible: {diagnosis.reasons}")
        return
    rng = np.random.default_rng(instance.seed)
    witness = set(instance.panel)
    row_of = {row[0]: i for i, row in enumerate(instance.rows)}
    matrix, _, _, names = _raw_constraints(instance)
    counts = matrix @ np.isin(np.arange(len(instance.rows)), instance.panel).astype(float)
    by_name = {name: r for r, name in enumerate(names)}
    ends: list[tuple[str, int, str, int]] = []  # (value, row, "highest"/"lowest", claim)
    for v in diagnosis.values:
        name = f"{v.category}={v.value}"
        r = by_name[name]
        count = round(float(counts[r]))
        if v.lowest is None or v.highest is None:
            outcome.failures.append(f"check gives no fillable range for {name}")
            continue
        if not v.lowest <= count <= v.highest:
            outcome.failures.append(
                f"check says {name} can hold {v.lowest}-{v.highest}, but a valid panel "
                f"holds {count}"
            )
        ends += [(name, r, "highest", v.highest), (name, r, "lowest", v.lowest)]
    unselectable = [e for e in diagnosis.excluded if e.selectable is False]
    for group in unselectable:
        wrong = [pid for pid in group.ids if row_of[pid] in witness]
        if wrong:
            outcome.failures.append(
                f"check calls {wrong[:3]} 'can never be selected', but a valid panel holds them"
            )
    for group in [unselectable[int(j)] for j in rng.permutation(len(unselectable))][:MILP_SAMPLE]:
        pid = group.ids[int(rng.integers(len(group.ids)))]
        status, _ = independent_milp(instance, forced=row_of[pid])
        if status == "optimal":
            outcome.failures.append(
                f"check calls {pid} 'can never be selected'; a MILP finds a panel"
            )
        elif status == "unknown":
            outcome.unconfirmed += 1
        else:
            outcome.confirmed += 1
    for j in rng.permutation(len(ends))[:MILP_SAMPLE].tolist():
        name, r, end, claimed = ends[j]
        sign = 1.0 if end == "highest" else -1.0
        row = np.asarray(matrix.getrow(r).todense()).ravel()
        status, value = independent_milp(instance, objective=sign * row)
        if status != "optimal" or value is None:
            outcome.unconfirmed += 1
            continue
        if round(sign * value) != claimed:
            outcome.failures.append(
                f"check's {end} count of {name} is {claimed}, a MILP finds {round(sign * value)}"
            )
        else:
            outcome.confirmed += 1


@dataclass
class Outcome:
    """One run: who, what failed (empty when it passed) and the per-person probabilities."""

    seed: int
    algorithm: str
    solver: str
    failures: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    gave_up: bool = False
    """legacy only: its greedy runs got stuck, as it may (counted, not a failure)."""
    timed_out: bool = False
    """The run reached its time limit and gave a best-effort lottery, checked like any other
    (counted as "not proven" and listed, not a failure)."""
    unconfirmed: int = 0
    """``check`` only: claims the independent MILP could not confirm within its time limit."""
    confirmed: int = 0
    """``check`` only: claims the independent MILP confirmed."""


def _read_probabilities(folder: Path) -> dict[str, float]:
    with (folder / "probabilities.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    column = "probability" if rows and "probability" in rows[0] else "probability_estimate"
    return {row["id"]: float(row[column]) for row in rows}


def _read_panel(folder: Path) -> list[str]:
    with (folder / "panel.csv").open(encoding="utf-8-sig", newline="") as f:
        return [row["id"] for row in csv.DictReader(f)]


def check_run(
    instance: Instance,
    algorithm: str,
    solver: str,
    work: Path,
    time_limit: float = RUN_TIME_LIMIT,
) -> Outcome:
    """Run ``select`` and ``audit`` on the instance and check the result (module doc); for
    :data:`CHECK`, ``panelsel check`` and :func:`check_verdicts`."""
    import json
    import time

    from panelsel.commands.audit import audit
    from panelsel.commands.select import select
    from panelsel.errors import InfeasibleQuotasError, PanelselError, SolverError, TimeLimitError
    from panelsel.outputs.tables import WRITTEN_PROBABILITY_TOLERANCE

    outcome = Outcome(instance.seed, algorithm, solver)
    if algorithm == CHECK:
        started = time.monotonic()
        try:
            check_verdicts(instance, solver, outcome)
        except InfeasibleQuotasError as error:
            outcome.failures.append(f"check: exit 3 on feasible quotas: {error}")
        except PanelselError as error:
            outcome.failures.append(f"check: exit {error.exit_code}: {error}")
        except Exception:  # our own bug: keep the traceback
            outcome.failures.append("check crashed: " + traceback.format_exc(limit=4))
        outcome.seconds = time.monotonic() - started
        return outcome
    folder = work / f"s{instance.seed}"
    pool, quotas = instance.write(folder)
    out = folder / f"{algorithm}-{solver}"
    started = time.monotonic()
    try:
        select(
            pool,
            quotas,
            out=out,
            seed=instance.seed,
            algorithm=algorithm,
            solver=solver,
            time_limit=time_limit,
            best_effort=True,
            samples=LEGACY_SAMPLES,
            xlsx=False,
        )
    except InfeasibleQuotasError as error:
        outcome.failures.append(f"exit 3 on feasible quotas: {error}")
        return outcome
    except TimeLimitError:
        outcome.timed_out = True
        return outcome
    except SolverError as error:
        if algorithm == "legacy" and LEGACY_GIVES_UP in str(error):
            # the legacy procedure is greedy and may fail where panels exist: it says so
            # and points to leximin (a documented limit, not a wrong verdict)
            outcome.gave_up = True
        else:
            outcome.failures.append(f"exit {error.exit_code}: {error}")
        return outcome
    except PanelselError as error:
        outcome.failures.append(f"exit {error.exit_code}: {error}")
        return outcome
    except Exception:  # our own bug: keep the traceback
        outcome.failures.append("crash: " + traceback.format_exc(limit=4))
        return outcome
    finally:
        outcome.seconds = time.monotonic() - started
    document = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    outcome.timed_out = document.get("proven_optimal") is False
    try:
        report = audit(out, pool, quotas, recompute=False)
        # a best-effort lottery claims no optimality, and the audit says so by failing its
        # optimality check for the methods that certify a bound (leximin, goldilocks,
        # minimax); what it still claims (proven levels, the stated bound) must hold
        failed = [
            c
            for c in report.checks
            if not c.passed
            and not (
                outcome.timed_out
                and c.name == "optimality"
                and c.detail.startswith("not proven optimal (stopped at its time limit)")
                and "do not prove" not in c.detail
            )
        ]
        if failed:
            outcome.failures.append(
                "audit failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)[:400]
            )
    except PanelselError as error:
        outcome.failures.append(f"audit exit {error.exit_code}: {error}")
    problems = quota_problems(instance, _read_panel(out))
    if problems:
        outcome.failures.append("drawn panel breaks the quotas: " + "; ".join(problems[:3]))
    outcome.probabilities = _read_probabilities(out)
    total = sum(outcome.probabilities.values())
    written = len(outcome.probabilities) * WRITTEN_PROBABILITY_TOLERANCE
    if algorithm != "legacy" and abs(total - instance.quotas["panel_size"]) > (
        SUM_TOLERANCE + written
    ):
        outcome.failures.append(f"probabilities sum to {total:.9f}, not k")
    shutil.rmtree(out)
    return outcome


def disagreements(outcomes: list[Outcome]) -> list[str]:
    """Where HiGHS and CBC found different unique optima on one instance."""
    by = {
        (o.algorithm, o.solver): o
        for o in outcomes
        if o.probabilities and not o.failures and not o.timed_out
    }
    found = []
    for algorithm in ("leximin", "nash", "maximin"):
        a, b = by.get((algorithm, "highs")), by.get((algorithm, "cbc"))
        if a is None or b is None:
            continue
        if algorithm == "maximin":
            gap = abs(min(a.probabilities.values()) - min(b.probabilities.values()))
        else:
            gap = max(abs(a.probabilities[i] - b.probabilities[i]) for i in a.probabilities)
        if gap > AGREEMENT_TOLERANCE:
            found.append(f"{algorithm}: HiGHS and CBC differ by {gap:.2e}")
    return found


def stress_instance(
    seed: int,
    algorithms: Sequence[str],
    solvers: Sequence[str],
    time_limit: float = RUN_TIME_LIMIT,
) -> tuple[Instance, list[Outcome], list[str]]:
    """Every algorithm and solver on instance ``seed``: the outcomes and the disagreements."""
    instance = make_instance(seed)
    work = Path(tempfile.mkdtemp(prefix="panelsel-stress-"))
    try:
        outcomes = [
            check_run(instance, a, s, work, time_limit) for a in algorithms for s in solvers
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return instance, outcomes, disagreements(outcomes)


def _worker(
    args: tuple[int, tuple[str, ...], tuple[str, ...], float],
) -> tuple[str, list[Any], list[str]]:
    seed, algorithms, solvers, time_limit = args
    try:
        instance, outcomes, disagree = stress_instance(seed, algorithms, solvers, time_limit)
    except Exception:  # the harness's own bug: one failure, and the run goes on
        return f"seed {seed}", [], ["harness crashed: " + traceback.format_exc(limit=3)]
    rows = [
        (
            o.algorithm,
            o.solver,
            o.failures,
            o.seconds,
            o.gave_up,
            o.timed_out,
            o.unconfirmed,
            o.confirmed,
        )
        for o in outcomes
    ]
    return instance.shape, rows, disagree


def run_stress(
    count: int,
    *,
    first_seed: int = 0,
    jobs: int = 1,
    algorithms: Sequence[str] = ALL_RUNS,
    solvers: Sequence[str] = SOLVERS,
    time_limit: float = RUN_TIME_LIMIT,
    echo: Any = None,
) -> int:
    """Run ``count`` instances (seeds ``first_seed`` ...); print failures as they come and
    a table at the end; return the number of failures."""
    import multiprocessing

    echo = echo or functools.partial(print, flush=True)
    tasks = [(first_seed + i, tuple(algorithms), tuple(solvers), time_limit) for i in range(count)]
    keys = [(a, s) for a in algorithms for s in solvers]
    runs = {key: 0 for key in keys}
    failed = {key: 0 for key in keys}
    gave_up = {key: 0 for key in keys}
    timed_out = {key: 0 for key in keys}
    seconds = {key: 0.0 for key in keys}
    unconfirmed = {key: 0 for key in keys}
    confirmed = {key: 0 for key in keys}
    failures = 0
    done = 0

    def table(instances: int) -> None:
        echo("")
        echo(
            f"{'algorithm':<11} {'solver':<6} {'runs':>6} {'failed':>6} {'gave up':>7} "
            f"{'not proven':>10} {'confirmed':>9} {'unconfirmed':>11} {'mean s':>7}"
        )
        for key in keys:
            mean = seconds[key] / max(runs[key], 1)
            echo(
                f"{key[0]:<11} {key[1]:<6} {runs[key]:>6} {failed[key]:>6} {gave_up[key]:>7} "
                f"{timed_out[key]:>10} {confirmed[key]:>9} {unconfirmed[key]:>11} {mean:>7.2f}"
            )
        echo(f"instances: {instances}, runs: {sum(runs.values())}, failures: {failures}")

    with multiprocessing.get_context("spawn").Pool(jobs) as workers:
        for shape, rows, disagree in workers.imap_unordered(_worker, tasks):
            done += 1
            for algorithm, solver, problems, spent, stuck, late, open_claims, sure in rows:
                key = (algorithm, solver)
                unconfirmed[key] += open_claims
                confirmed[key] += sure
                runs[key] += 1
                seconds[key] += spent
                gave_up[key] += int(stuck)
                timed_out[key] += int(late)
                if late:
                    echo(f"NOT PROVEN (time limit, best effort) {shape} {algorithm}/{solver}")
                if problems:
                    failed[key] += 1
                    failures += 1
                    echo(f"FAIL {shape} {algorithm}/{solver}: {' | '.join(problems)}")
            for text in disagree:
                failures += 1
                echo(f"FAIL {shape} {text}")
            if done % 10 == 0:
                echo(f"... {done}/{count} instances, {failures} failure(s)")
                if done < count:  # the table so far, so that a stopped run still reports
                    table(done)
    table(count)
    return failures
