"""Households that match (issue 31, item 4): the key ignores case, spaces (also inside a
postcode) and punctuation; near-identical addresses are warned about; ``check`` says what
the rule does; ``probabilities.csv`` says who shares a household, without the address."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner, Result

from panelsel.cli import app
from panelsel.inputs.pool import household_key

RUNNER = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def _said(result: Result) -> str:
    return " ".join(result.output.split())


def _pool(folder: Path, addresses: list[tuple[str, str]]) -> tuple[Path, Path]:
    rows = [["id", "gender", "address", "postcode"]]
    for i, (address, postcode) in enumerate(addresses):
        rows.append([f"r{i}", "F" if i % 2 else "M", address, postcode])
    pool = folder / "pool.csv"
    with pool.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    quotas = folder / "q.yaml"
    quotas.write_text(
        "panel_size: 4\ncategories:\n  gender:\n    quotas:\n"
        "      F: {min: 2, max: 2}\n      M: {min: 2, max: 2}\n"
        "households: {columns: [address, postcode], max_per_household: 1}\n",
        encoding="utf-8",
    )
    return pool, quotas


ADDRESSES = [
    ("12 Mill Lane", "CT10 5LD"),  # r0 (M)
    ("12, mill lane", "ct105ld"),  # r1 (F): the same household as r0
    ("3 Park Road", "AB1 2CD"),  # r2
    ("12 Castle Street", "XY9 8ZZ"),  # r3
    ("12 Castle St", "XY9 8ZZ"),  # r4: nearly r3's address
    ("14 Castle Street", "XY9 8ZZ"),  # r5: another house
    ("7 High St", "EF3 4GH"),  # r6
    ("9 High St", "EF3 4GJ"),  # r7
]


def test_the_household_key_ignores_case_spaces_and_punctuation() -> None:
    assert household_key("CT10 5LD") == household_key("ct105ld") == household_key("CT10-5LD")
    assert household_key("12, Mill Lane.") == household_key("12 mill  lane")
    assert household_key("12 Mill Ln") != household_key("12 Mill Lane")


def test_one_household_written_two_ways_is_one_household(tmp_path: Path) -> None:
    pool, quotas = _pool(tmp_path, ADDRESSES)
    checked = RUNNER.invoke(app, ["check", str(pool), str(quotas)])
    said = _said(checked)
    assert checked.exit_code == 0, said
    assert (
        "Households: 1 household(s) have two or more registrants (2 registrants); the rule "
        "seats at most 1 of each, which limits 1 of them: r0+r1"
    ) in said
    # near-identical addresses are named; another house number is not
    assert "rows 5 ('12 Castle Street, XY9 8ZZ') and 6 ('12 Castle St, XY9 8ZZ') have nearly " \
        "the same address" in said  # fmt: skip
    assert "'14 Castle Street" not in said
    out = tmp_path / "run"
    selected = RUNNER.invoke(app, ["select", str(pool), str(quotas), "--seed", "2",
                                   "--out", str(out)])  # fmt: skip
    assert selected.exit_code == 0, selected.output
    record = json.loads((out / "lottery.json").read_text(encoding="utf-8"))
    assert not any({"r0", "r1"} <= set(p["members"]) for p in record["panels"])
    with (out / "probabilities.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["household"] for r in rows] == ["H1", "H1", "", "", "", "", "", ""]
    text = (out / "probabilities.csv").read_text(encoding="utf-8-sig")
    assert "Mill" not in text and "CT10" not in text  # no address is written there
    audited = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas)])
    assert audited.exit_code == 0, audited.output


def test_check_says_when_nobody_shares_a_household(tmp_path: Path) -> None:
    pool, quotas = _pool(tmp_path, [ADDRESSES[i] for i in (0, 2, 3, 5, 6, 7)])
    checked = RUNNER.invoke(app, ["check", str(pool), str(quotas), "--json"])
    assert checked.exit_code == 0, checked.output
    found = json.loads(checked.stdout)["households"]
    assert found == {"max_per_household": 1, "shared": []}
    said = _said(RUNNER.invoke(app, ["check", str(pool), str(quotas)]))
    assert "no two registrants share a household, so the rule (at most 1) changes nothing" in said


def test_a_double_registration_under_one_id_is_dropped_before_ids_are_checked(
    tmp_path: Path,
) -> None:
    # issue 31, item 5: row 4 is row 2's person again, under the same id
    pool = tmp_path / "pool.csv"
    rows = ["id,Email,gender", "r1,ann@x.org,F", "r2,bo@x.org,M", "r1,ANN@x.org ,F"]
    rows += [f"r{i},p{i}@x.org,{'FM'[i % 2]}" for i in range(3, 9)]
    pool.write_text("\n".join(rows) + "\n", encoding="utf-8")
    quotas = tmp_path / "q.yaml"
    quotas.write_text(
        "panel_size: 4\ncategories:\n  gender:\n    quotas: {F: 2, M: 2}\n", encoding="utf-8"
    )
    refused = RUNNER.invoke(app, ["check", str(pool), str(quotas)])
    said = _said(refused)
    assert refused.exit_code == 2
    assert "row 4, column 'id', value 'r1': is the same id as row 2 ('r1')" in said
    assert "pass --drop-duplicates with the column that identifies a person" in said
    out = tmp_path / "run"
    args = ["select", str(pool), str(quotas), "--drop-duplicates", "Email", "--seed", "1"]
    selected = RUNNER.invoke(app, [*args, "--out", str(out), "--json"])
    assert selected.exit_code == 0, selected.output
    notes = json.loads(selected.stdout)["notes"]
    assert "row 2 (id r1) dropped: the same Email as row 4, which is kept" in notes
    with (out / "probabilities.csv").open(encoding="utf-8-sig", newline="") as f:
        assert [r["id"] for r in csv.DictReader(f)].count("r1") == 1
    audited = RUNNER.invoke(app, ["audit", str(out), str(pool), str(quotas)])
    assert audited.exit_code == 0, audited.output
