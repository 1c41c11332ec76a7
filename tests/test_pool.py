from __future__ import annotations

from pathlib import Path

import pytest

from panelsel.errors import BadInputError
from panelsel.inputs.pool import load_pool, normalise, parse_delimiter

from .conftest import write_csv


def test_reads_rows_ids_and_line_numbers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["id", "g"], [["a", "F"], ["b", "M"]])
    pool = load_pool(path)
    assert pool.ids == ["a", "b"]
    assert pool.id_column == "id"
    assert pool.rows == [["a", "F"], ["b", "M"]]
    assert pool.line_numbers == [2, 3]
    assert len(pool.sha256) == 64


def test_bom_and_whitespace_ids(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("\ufeffid,g\n a ,F\nb,M\n".encode())
    pool = load_pool(path)
    assert pool.columns == ["id", "g"]
    assert pool.ids == ["a", "b"]
    assert pool.rows[0] == [" a ", "F"]  # raw cells are kept for outputs


def test_row_numbers_become_ids_without_id_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["g"], [["F"], ["M"], ["F"]])
    pool = load_pool(path)
    assert pool.ids == ["0", "1", "2"]
    assert pool.id_column is None


def test_semicolon_and_tab_delimiters(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["id", "g"], [["a", "F"]], delimiter=";")
    assert load_pool(path, delimiter=";").rows == [["a", "F"]]
    path = write_csv(tmp_path / "t.csv", ["id", "g"], [["a", "F"]], delimiter="\t")
    assert load_pool(path, delimiter=parse_delimiter("tab")).rows == [["a", "F"]]


def test_semicolon_file_read_with_commas_suggests_delimiter(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["id", "g"], [["a", "F"]], delimiter=";")
    with pytest.raises(BadInputError, match="--delimiter ';'"):
        load_pool(path)


def test_quoted_newline_in_cell(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('id,note,g\na,"two\nlines",F\nb,x,M\n', encoding="utf-8")
    pool = load_pool(path)
    assert pool.rows[0][1] == "two\nlines"
    assert pool.line_numbers == [2, 3]  # spreadsheet rows, not the text lines 3 and 4 (issue 16)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"id,g\n", "header but no registrants"),
        (b"id,g,g\na,F,M\n", "two columns called 'g'"),
        (b"id,g\na,F\nb,M,extra\n", "row 3: this row has 3 cells but the header has 2"),
        (b"id,g\na,F\n,M\n", "row 3, column 'id': the id is blank"),
        (b"id,g\na,F\na,M\n", "row 3, column 'id', value 'a': is the same id as row 2"),
        (b"id,g\nAb,F\n ab ,M\n", "differs only in case or surrounding spaces"),
        (b"id,g\na,F\nb,\xe9\n", "row 3: byte(s) b'\\xe9' are not valid utf-8-sig"),
        ("id,g\na,F\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_bad_pools(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(content)
    with pytest.raises(BadInputError) as info:
        load_pool(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_other_encoding_accepted_when_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("id,g\na,Fé\n".encode("cp1252"))
    assert load_pool(path, encoding="cp1252").rows == [["a", "Fé"]]
    path.write_bytes("id,g\na,F\n".encode("utf-16"))
    assert load_pool(path, encoding="utf-16").rows == [["a", "F"]]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf8_file_read_as_utf16_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    """Reading a UTF-8 export with --encoding utf-16 pairs its bytes into a single line of
    nonsense; the message was "the registrants file has a header but no registrants"."""
    path = tmp_path / "p.csv"
    path.write_bytes(b"id,gender\na,F\nb,M\nc,F\n")
    with pytest.raises(BadInputError) as info:
        load_pool(path, encoding=encoding)
    assert f"the file has no line breaks although its bytes have them: it is not {encoding}" in (
        str(info.value)
    )
    assert "header but no registrants" not in str(info.value)


def test_missing_file_and_missing_id_column(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        load_pool(tmp_path / "nope.csv")
    path = write_csv(tmp_path / "p.csv", ["ID number", "g"], [["a", "F"]])
    with pytest.raises(BadInputError, match=r"(?s)no column 'student_id'.*'ID number'"):
        load_pool(path, id_column="student_id")
    # a case / space difference in the column name is tolerated
    assert load_pool(path, id_column="id number").ids == ["a"]


def test_normalise_and_delimiter_parsing() -> None:
    assert normalise("  Female ") == "female"
    assert parse_delimiter("\\t") == "\t"
    with pytest.raises(BadInputError, match="single character"):
        parse_delimiter(";;")


def test_invisible_and_decomposed_characters_do_not_exclude_anyone(tmp_path: Path) -> None:
    # issue 13, item 8: a decomposed é, a zero-width space, a directional mark or a
    # non-breaking space in a multi-valued cell used to make the registrant silently not count
    from panelsel.inputs.model import build_model
    from panelsel.inputs.quotas import load_quotas

    cells = [
        "Caf\u00e9 club;Counselling",  # composed
        "Cafe\u0301 club;Counselling",  # decomposed é
        "Caf\u00e9\u200b club;Counselling\u200e",  # zero-width space, left-to-right mark
        "Caf\u00e9\u00a0club;\ufeffCounselling",  # non-breaking space, BOM
        "COUNSELLING ; CAF\u00c9  CLUB",  # case and spacing
        "Counseling;Caffe club",  # near misses: warned about, not counted
    ]
    rows = [[f"p{i}", "F" if i % 2 else "M", c] for i, c in enumerate(cells)]
    pool_path = write_csv(tmp_path / "pool.csv", ["id", "g", "services"], rows)
    q = tmp_path / "q.yaml"
    q.write_text(
        "panel_size: 2\ncategories:\n  g: {quotas: {F: 1, M: 1}}\n"
        "  services:\n    multi_value: ';'\n"
        "    quotas: {Café club: {min: 0}, Counselling: {min: 0}}\n",
        encoding="utf-8",
    )
    spec = load_quotas(q)
    model = build_model(load_pool(pool_path, id_column="id"), spec)
    counts = {f.value: f.pool_count for f in model.features}
    assert counts["Café club"] == 5 and counts["Counselling"] == 5
    assert len(model.warnings) == 2
    assert "'counseling', which is close to the quota value 'Counselling'" in model.warnings[1]
    assert "'caffe club'" in model.warnings[0] and "'Café club'" in model.warnings[0]


def test_two_columns_differing_only_in_case_are_ambiguous(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["id", "GENDER", "gender"], [["a", "F", "F"]])
    pool = load_pool(path, id_column="id")
    with pytest.raises(BadInputError, match="the columns 'GENDER' and 'gender' both match"):
        pool.find_column("Gender", purpose="category 'Gender'")
    assert pool.find_column("gender", purpose="x") == 2  # an exact match is not ambiguous
