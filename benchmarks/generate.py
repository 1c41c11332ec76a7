"""Realistic synthetic pools: correlated categories, skewed volunteering, addresses.

A latent "engagement" score per person drives both which category values they have
(correlation between categories) and how likely they are to volunteer (the pool is skewed
against the population).  Quotas are population shares ± ``quota_band`` of the panel, as a
convenor working from census figures would set them, capped so that no minimum exceeds the
pool's count.

``python -m benchmarks.generate N K CATEGORIES OUTDIR [--seed S] [--multi] [--households]``
writes ``registrants.csv`` and ``quotas.yaml`` into OUTDIR.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np
import yaml

# name, values, loading of each value's logit on the latent score
CATEGORIES: list[tuple[str, list[str], list[float]]] = [
    ("gender", ["Female", "Male", "Non-binary"], [0.0, 0.0, 0.3]),
    ("age", ["16-24", "25-34", "35-49", "50-64", "65+"], [-0.6, -0.2, 0.0, 0.3, 0.6]),
    ("education", ["None", "Secondary", "Vocational", "Degree"], [-0.9, -0.3, 0.0, 0.9]),
    (
        "region",
        ["North", "Midlands", "South", "East", "West", "Capital"],
        [-0.2, -0.1, 0.1, 0.0, 0.0, 0.3],
    ),
    ("ethnicity", ["White", "Asian", "Black", "Mixed", "Other"], [0.1, -0.1, -0.2, 0.0, -0.1]),
    ("tenure", ["Owner", "Private rent", "Social rent"], [0.5, -0.1, -0.5]),
    ("area", ["Urban", "Rural"], [-0.1, 0.2]),
    ("employment", ["Employed", "Unemployed", "Student", "Retired"], [0.2, -0.6, -0.1, 0.4]),
    ("disability", ["Yes", "No"], [-0.3, 0.1]),
    ("leaning", ["Left", "Centre", "Right", "None"], [0.3, 0.2, 0.0, -0.6]),
]
BASE_SHARES: dict[str, list[float]] = {
    "gender": [0.505, 0.485, 0.01],
    "age": [0.14, 0.17, 0.25, 0.23, 0.21],
    "education": [0.18, 0.32, 0.17, 0.33],
    "region": [0.2, 0.17, 0.2, 0.13, 0.14, 0.16],
    "ethnicity": [0.82, 0.09, 0.04, 0.03, 0.02],
    "tenure": [0.63, 0.2, 0.17],
    "area": [0.82, 0.18],
    "employment": [0.6, 0.05, 0.08, 0.27],
    "disability": [0.18, 0.82],
    "leaning": [0.3, 0.3, 0.25, 0.15],
}
SERVICES = ["Counselling", "Housing advice", "GP", "Carer support", "Debt advice"]


def _draw_values(
    rng: np.random.Generator, latent: np.ndarray, shares: list[float], loadings: list[float]
) -> np.ndarray:
    logits = np.log(np.array(shares))[None, :] + latent[:, None] * np.array(loadings)[None, :]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    u = rng.random(len(latent))[:, None]
    return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), len(shares) - 1)


def generate(
    n: int,
    k: int,
    n_categories: int,
    *,
    seed: int = 0,
    multi: bool = False,
    households: bool = False,
    volunteer_skew: float = 1.0,
    quota_band: float = 0.05,
) -> tuple[list[str], list[list[str]], dict[str, object]]:
    """Header, rows and quota document (YAML-ready) of a generated pool."""
    rng = np.random.default_rng(seed)
    cats = CATEGORIES[:n_categories]
    # population: shares with the latent score integrated out, estimated on a large sample
    population = rng.normal(size=200_000)
    pop_values = {
        name: _draw_values(rng, population, BASE_SHARES[name], load) for name, _, load in cats
    }
    pop_share = {
        name: np.bincount(v, minlength=len(values)) / len(population)
        for (name, values, _), v in zip(cats, pop_values.values(), strict=True)
    }
    # volunteers: the more engaged are more likely to register
    latent = rng.normal(size=n * 8)
    accept = rng.random(n * 8) < 1 / (1 + np.exp(-volunteer_skew * latent - 1.0))
    latent = latent[accept][:n]
    assert len(latent) == n
    columns = {name: _draw_values(rng, latent, BASE_SHARES[name], load) for name, _, load in cats}
    header = ["id", "name", "email"] + [name for name, _, _ in cats]
    rows = []
    for i in range(n):
        rows.append(
            [f"P{i:06d}", f"Person {i}", f"person{i}@example.org"]
            + [values[columns[name][i]] for name, values, _ in cats]
        )
    doc: dict[str, object] = {"panel_size": k, "categories": {}}
    categories: dict[str, object] = {}
    for name, values, _ in cats:
        counts = np.bincount(columns[name], minlength=len(values))
        quotas = {}
        for j, v in enumerate(values):
            lo = max(0, math.floor((pop_share[name][j] - quota_band) * k))
            hi = math.ceil((pop_share[name][j] + quota_band) * k)
            quotas[v] = {"min": int(min(lo, counts[j])), "max": int(max(hi, 1))}
        categories[name] = {"quotas": quotas}
    if multi:
        header.append("services")
        for row, z in zip(rows, latent, strict=True):
            p = 1 / (1 + np.exp(-(z - 1.0)))
            row.append(";".join(s for s in SERVICES if rng.random() < p * 0.6))
        categories["services"] = {
            "multi_value": ";",
            "quotas": {s: {"min": max(1, k // 20)} for s in SERVICES},
        }
    doc["categories"] = categories
    if households:
        header.append("address")
        n_shared = n // 10
        for i, row in enumerate(rows):
            row.append(f"{rng.integers(n_shared)} Shared Street" if i % 5 == 0 else f"{i} Own Road")
        doc["households"] = {"column": "address", "max_per_household": 1}
    return header, rows, doc


def _exact_seats(shares: np.ndarray, k: int) -> list[int]:
    """Seats proportional to ``shares`` summing to ``k`` (largest remainders)."""
    raw = shares / shares.sum() * k
    seats = np.floor(raw).astype(int)
    for j in np.argsort(-(raw - seats), kind="stable")[: k - int(seats.sum())]:
        seats[j] += 1
    return [int(x) for x in seats]


def national(
    n: int,
    k: int,
    *,
    seed: int = 0,
    n_categories: int = 7,
    slack: float = 0.05,
    volunteer_skew: float = 2.0,
    households: bool = False,
) -> tuple[list[str], list[list[str]], dict[str, object]]:
    """A national-style pool whose quotas' LP relaxation has a gap (the kind of
    ``../shared/benchdata/hard_*``): ``n_categories`` correlated categories, a skewed
    volunteer pool, gender as exact seats and every other value within ``slack`` (relative)
    of its population count, ``floor((1 - slack) * share * k)`` to
    ``ceil((1 + slack) * share * k)``.  Narrow bands on many categories at once are what
    makes the relaxation's bound unattainable.  ``households``: one registrant in five lives
    at one of ``n // 10`` shared addresses, at most one per household on the panel (a council
    assembly's rule; :func:`council`)."""
    header, rows, doc = generate(
        n,
        k,
        n_categories,
        seed=seed,
        volunteer_skew=volunteer_skew,
        quota_band=0.0,
        households=households,
    )
    rng = np.random.default_rng(seed)
    population = rng.normal(size=200_000)
    categories = doc["categories"]
    assert isinstance(categories, dict)
    for name, values, load in CATEGORIES[:n_categories]:
        share = np.bincount(
            _draw_values(rng, population, BASE_SHARES[name], load), minlength=len(values)
        ) / len(population)
        column = header.index(name)
        counts = [sum(1 for row in rows if row[column] == v) for v in values]
        quotas: dict[str, object] = {}
        if name == "gender":
            for v, seats, have in zip(values, _exact_seats(share, k), counts, strict=True):
                quotas[v] = {"min": min(seats, have), "max": seats}
        else:
            for j, v in enumerate(values):
                lo = math.floor((1 - slack) * share[j] * k)
                hi = math.ceil((1 + slack) * share[j] * k)
                quotas[v] = {"min": int(min(lo, counts[j])), "max": int(max(hi, 1))}
        categories[name] = {"quotas": quotas}
    return header, rows, doc


def council(seed: int = 0) -> tuple[list[str], list[list[str]], dict[str, object]]:
    """A council assembly as issue 30 met it: 600 registrants, 40 seats, 7 census
    categories at narrow population quotas, and the household rule."""
    return national(600, 40, seed=seed, households=True)


def write(
    folder: Path, header: list[str], rows: list[list[str]], doc: dict[str, object]
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pool = folder / "registrants.csv"
    with pool.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    quotas = folder / "quotas.yaml"
    quotas.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # the same quotas as a Sortition Foundation categories CSV, for peers that read only that
    categories = doc["categories"]
    assert isinstance(categories, dict)
    with (folder / "categories.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["category", "feature", "min", "max"])
        for name, body in categories.items():
            if body.get("multi_value"):
                continue
            k = int(doc["panel_size"])  # type: ignore[call-overload]
            for value, q in body["quotas"].items():
                w.writerow([name, value, q.get("min", 0), q.get("max", k)])
    return pool, quotas


def repeat_example(path: Path, n: int) -> Path:
    """The bundled example's registrants repeated to ``n`` rows, each with its own id and
    address (so that the household rule binds nobody): few types, very many people."""
    example = Path(__file__).resolve().parents[1] / "examples" / "wellbeing" / "registrants.csv"
    with example.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    address = head.index("Address")
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(head)
        for i in range(n):
            row = list(body[i % len(body)])
            row[0], row[address] = f"S{i:07d}", f"{i} {row[address]}"
            writer.writerow(row)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description="Write a generated pool and its quotas.")
    p.add_argument("n", type=int)
    p.add_argument("k", type=int)
    p.add_argument("categories", type=int)
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--multi", action="store_true")
    p.add_argument("--households", action="store_true")
    a = p.parse_args()
    write(
        a.out,
        *generate(a.n, a.k, a.categories, seed=a.seed, multi=a.multi, households=a.households),
    )


if __name__ == "__main__":
    main()
