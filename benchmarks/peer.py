"""Run sortition-algorithms' LEXIMIN (an optional peer, never a panelsel dependency).

Invoked as a separate process by ``python -m benchmarks`` with the interpreter given by
``--peer-python`` (default: the current one), so the peer can live in its own environment:

    python -m benchmarks.peer POOL.csv CATEGORIES.csv K

prints one JSON object: ``{"seconds": ..., "min_probability": ..., "committees": ...}`` or
``{"error": ...}``.  Quota files must be Sortition Foundation categories CSVs; a pool without
an ``id`` column gets row numbers as ids, as in panelsel.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time


def main() -> None:
    pool_path, features_path, k_text = sys.argv[1:4]
    k = int(k_text)
    try:
        from sortition_algorithms import adapters
        from sortition_algorithms.committee_generation.leximin import find_distribution_leximin
        from sortition_algorithms.settings import Settings
    except ImportError as exc:
        print(json.dumps({"error": f"sortition-algorithms is not installed: {exc}"}))
        return
    with open(pool_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if "id" not in rows[0]:
        rows = [["id", *rows[0]]] + [[str(i), *r] for i, r in enumerate(rows[1:])]
    people_csv = io.StringIO()
    csv.writer(people_csv).writerows(rows)
    with open(features_path, encoding="utf-8-sig", newline="") as f:
        frows = list(csv.reader(f))
    # the peer's header is feature,value,min,max (its "feature" is our category)
    rename = {"category": "feature", "feature": "value", "name": "value"}
    frows[0] = [rename.get(h.strip(), h.strip()) for h in frows[0]]
    features_buffer = io.StringIO()
    csv.writer(features_buffer).writerows(frows)
    features_csv = features_buffer.getvalue()
    data = adapters.SelectionData(adapters.CSVStringDataSource(features_csv, people_csv.getvalue()))
    features, _ = data.load_features(k)
    settings = Settings(id_column="id", columns_to_keep=[])
    people, _ = data.load_people(settings, features)
    start = time.monotonic()
    try:
        committees, probs, _ = find_distribution_leximin(features, people, k, [])
    except Exception as exc:  # the peer's failures are data for the table
        print(
            json.dumps(
                {
                    "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                    "seconds": time.monotonic() - start,
                }
            )
        )
        return
    seconds = time.monotonic() - start
    marginal: dict[str, float] = {}
    for committee, p in zip(committees, probs, strict=True):
        for person in committee:
            marginal[person] = marginal.get(person, 0.0) + p
    ids = [r[0] for r in rows[1:]]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "committees": len(committees),
                "min_probability": min(marginal.get(i, 0.0) for i in ids),
            }
        )
    )


if __name__ == "__main__":
    main()
