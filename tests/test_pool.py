from __future__ import annotations

from pathlib import Path

import pytest

from panelsel.errors import BadInputError
from panelsel.pool import load_pool, normalise, parse_delimiter

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
    assert pool.line_numbers == [3, 4]


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
