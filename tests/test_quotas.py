from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from panelsel.errors import BadInputError
from panelsel.inputs.quotas import load_quotas

from .conftest import EXAMPLE

WriteText = Callable[[str, str], Path]


def test_example_schema_is_read_exactly() -> None:
    spec = load_quotas(EXAMPLE / "quotas.yaml")
    assert spec.panel_size == 10
    assert spec.id_column == "student_id"
    by_name = {c.name: c for c in spec.categories}
    gender = {q.value: (q.min, q.max) for q in by_name["gender"].quotas}
    assert gender == {"Female": (5, 5), "Male": (5, 5)}
    assert by_name["gender"].column == "Gender"
    level = {q.value: (q.min, q.max) for q in by_name["level"].quotas}
    assert level == {"Postgraduate": (6, 6), "Undergraduate": (4, 4)}
    services = by_name["services"]
    assert services.multi_value == ";"
    assert {q.value: (q.min, q.max) for q in services.quotas}["Counselling"] == (3, 10)
    assert spec.households is not None
    assert spec.households.columns == ("Address", "Postcode")
    assert spec.households.max_per_household == 1
    assert len(spec.sha256) == 64


@pytest.mark.parametrize(
    ("quota", "k", "expected"),
    [
        ('"50%"', 10, (5, 5)),
        ('"50%"', 7, (3, 4)),
        ('"33.3%"', 10, (3, 4)),
        ("3", 10, (3, 3)),
        ('"3"', 10, (3, 3)),
        ("{min: 2}", 10, (2, 10)),
        ("{max: 4}", 10, (0, 4)),
        ('{min: "20%", max: "45%"}', 10, (2, 5)),
        ('"0%"', 10, (0, 0)),
        ('"100%"', 7, (7, 7)),
    ],
)
def test_quota_forms(write_text: WriteText, quota: str, k: int, expected: tuple[int, int]) -> None:
    path = write_text(
        "q.yaml", f"panel_size: {k}\ncategories:\n  g:\n    quotas:\n      A: {quota}\n"
    )
    (q,) = load_quotas(path).categories[0].quotas
    assert (q.min, q.max) == expected


def test_keys_stay_strings_as_written(write_text: WriteText) -> None:
    path = write_text(
        "q.yaml",
        "panel_size: 4\ncategories:\n  answer:\n    quotas:\n"
        "      Yes: 2\n      No: 2\n      2019: 0\n      01: 0\n",
    )
    values = [q.value for q in load_quotas(path).categories[0].quotas]
    assert values == ["Yes", "No", "2019", "01"]


def test_panel_size_override_and_id_column_override(write_text: WriteText) -> None:
    path = write_text(
        "q.yaml",
        "panel_size: 4\nid_column: sid\ncategories:\n  g:\n    quotas: {A: '50%', B: '50%'}\n",
    )
    spec = load_quotas(path, panel_size=10, id_column="other")
    assert spec.panel_size == 10
    assert spec.id_column == "other"
    assert [(q.min, q.max) for q in spec.categories[0].quotas] == [(5, 5), (5, 5)]


def test_a_default_panel_size_applies_only_where_the_file_gives_none(
    write_text: WriteText,
) -> None:
    """The web form's panel size, offered for an uploaded quota file: the file's own
    ``panel_size`` wins; a YAML without one and a categories CSV take it (percentages are
    then of it); an override still overrides."""
    body = "categories:\n  g:\n    quotas: {A: '50%', B: '50%'}\n"
    sized = write_text("sized.yaml", "panel_size: 4\n" + body)
    unsized = write_text("unsized.yaml", body)
    categories = write_text("c.csv", "category,feature,min,max\ng,A,1,2\ng,B,1,2\n")
    assert load_quotas(sized, default_panel_size=10).panel_size == 4
    spec = load_quotas(unsized, default_panel_size=10)
    assert spec.panel_size == 10
    assert [(q.min, q.max) for q in spec.categories[0].quotas] == [(5, 5), (5, 5)]
    assert load_quotas(categories, default_panel_size=3).panel_size == 3
    assert load_quotas(sized, panel_size=6, default_panel_size=10).panel_size == 6
    with pytest.raises(BadInputError, match="panel_size is missing"):
        load_quotas(unsized)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "panel_size: 0\ncategories: {g: {quotas: {A: 1}}}\n",
            "line 1: panel_size must be at least 1, not 0",
        ),
        ("panel_size: -3\ncategories: {g: {quotas: {A: 1}}}\n", "at least 1, not -3"),
        (
            "panel_size: 2.5\ncategories: {g: {quotas: {A: 1}}}\n",
            "panel_size must be a whole number, not the number 2.5",
        ),
        ("categories: {g: {quotas: {A: 1}}}\n", "panel_size is missing"),
        ("panel_size: 4\n", "categories is missing"),
        ("panel_size: 4\ncategories: {}\n", "categories is empty"),
        (
            "panel_size: 4\npanelsize: 3\ncategories: {g: {quotas: {A: 1}}}\n",
            "line 2: unknown key 'panelsize' in the quota file",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    colum: G\n    quotas: {A: 1}\n",
            "line 4: unknown key 'colum' in category 'g'",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: {min: 1, mx: 3}\n",
            "unknown key 'mx' in the quota for g: A",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: {min: 3, max: 1}\n",
            "line 5: the quota for g: A has min 3 above max 1",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: -1\n",
            "line 5: the quota for g: A is -1, a negative count",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: {min: -2}\n",
            "the quota for g: A min is -2, a negative count",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: '150%'\n",
            "is '150%', a percentage over 100",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: 1.5\n",
            "must be a whole number, not the number 1.5",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: true\n",
            "must be a whole number, not the boolean True",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: many\n",
            "is 'many', which is neither a count nor a percentage",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A:\n",
            "the quota for g: A is empty",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: 1\n      a : 2\n",
            "'A' and 'a', which are the same value",
        ),
        (
            "panel_size: 4\ncategories:\n  g:\n    quotas:\n      A: 1\n      A: 2\n",
            "line 6: the key 'A' appears twice (first on line 5)",
        ),
        ("panel_size: 4\ncategories:\n  g:\n    quotas: {A: 1\n", "this is not valid quota YAML"),
        (
            "panel_size: 4\ncategories:\n  g: [A, B]\n",
            "category 'g' must be a mapping (key: value lines), not a list",
        ),
        ("- 1\n- 2\n", "the quota file must be a mapping"),
        (
            "panel_size: !!python/object/apply:os.system ['echo hi']\ncategories: {}\n",
            "tags such as !!python/... are not allowed",
        ),
        (
            "base: &b {A: 1}\npanel_size: 4\ncategories: {g: {quotas: *b}}\n",
            "YAML aliases (*name) are not supported",
        ),
        (
            "panel_size: 4\ncategories: {g: {quotas: {A: 1}}}\nhouseholds: {columns: [X]}\n",
            "households needs max_per_household",
        ),
        (
            "panel_size: 4\ncategories: {g: {quotas: {A: 1}}}\n"
            "households: {column: X, max_per_household: 0}\n",
            "max_per_household must be at least 1",
        ),
    ],
)
def test_bad_yaml(write_text: WriteText, text: str, message: str) -> None:
    path = write_text("q.yaml", text)
    with pytest.raises(BadInputError) as info:
        load_quotas(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_empty_and_missing_quota_files(tmp_path: Path, write_text: WriteText) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        load_quotas(tmp_path / "none.yaml")
    with pytest.raises(BadInputError, match="the quota file is empty"):
        load_quotas(write_text("e.yaml", ""))
    with pytest.raises(BadInputError, match="panel size must be from 1 to 1,000,000,000, not 0"):
        load_quotas(
            write_text("ok.yaml", "panel_size: 3\ncategories: {g: {quotas: {A: 1}}}"), panel_size=0
        )


def test_unknown_key_suggests_the_closest(write_text: WriteText) -> None:
    path = write_text(
        "q.yaml",
        "panel_size: 4\ncategories: {g: {quotas: {A: 1}}}\n"
        "houshold: {column: X, max_per_household: 1}\n",
    )
    with pytest.raises(BadInputError, match="did you mean 'households'"):
        load_quotas(path)


def test_sortition_foundation_csv(write_text: WriteText) -> None:
    path = write_text(
        "categories.csv",
        "category,name,min,max,min_flex,max_flex\n"
        "gender,female,9,20,0,25\ngender,male,9,20,0,25\n"
        "age,16-29,2,5,0,9\n",
    )
    spec = load_quotas(path, panel_size=20)
    assert spec.format == "csv"
    assert spec.panel_size == 20
    assert [(c.name, [(q.value, q.min, q.max) for q in c.quotas]) for c in spec.categories] == [
        ("gender", [("female", 9, 20), ("male", 9, 20)]),
        ("age", [("16-29", 2, 5)]),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("category,feature,min,max\ng,a,x,2\n", "row 2, column 'min', value 'x': is not a whole"),
        ("category,feature,min,max\ng,a,-1,2\n", "value '-1': is a negative count"),
        ("category,feature,min,max\ng,a,3,2\n", "row 2: min 3 is above max 2"),
        ("category,feature,max\ng,a,2\n", "no 'min' column"),
        ("category,min,max\ng,1,2\n", "no 'feature' (or 'name'/'value') column"),
        ("category,feature,min,max\n", "header but no rows"),
        ("category,feature,min,max\ng,a,1,2\ng,A,0,1\n", "the same value"),
    ],
)
def test_bad_sortition_foundation_csv(write_text: WriteText, text: str, message: str) -> None:
    with pytest.raises(BadInputError) as info:
        load_quotas(write_text("c.csv", text), panel_size=4)
    assert message in str(info.value)


def test_csv_needs_panel_size(write_text: WriteText) -> None:
    with pytest.raises(BadInputError, match="--panel-size"):
        load_quotas(write_text("c.csv", "category,feature,min,max\ng,a,1,2\n"))
