"""Rebuild ``registrations.csv``: a Microsoft Forms / Excel export of 46 registrations for a
student wellbeing panel (issue 16), written the way Excel writes "CSV UTF-8" in a locale whose
list separator is ';' -- a byte-order mark, ';' between cells, CRLF line ends.

What it holds, on purpose:

- Forms' columns: ``ID``, ``Start time``, ``Completion time``, ``Email``, ``Name``, then the
  questions;
- gender answers written ``Female``, ``female ``, `` Female``, ``FEMALE``, ``Male``, and four
  ``Prefer not to say``;
- a multi-select question whose cells end with Forms' ``;`` (``Counselling;Wellbeing workshops;``);
- a free-text question with commas, quotes and line breaks inside the cells (so text lines and
  spreadsheet rows differ);
- one duplicate registration: ID 46 is the registrant of ID 12 again (same e-mail, same answers,
  a later time), so 45 people and 46 rows.

Run ``python tests/corpus/forms/make.py`` to rewrite the file; the tests read the committed copy
and check that this script still produces it byte for byte.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

HERE = Path(__file__).parent
FIRST = [
    "Ines",
    "Rosa",
    "Grace",
    "Nia",
    "Amara",
    "Leah",
    "Chloe",
    "Maya",
    "Zara",
    "Ella",
    "Hana",
    "Sofia",
    "Isla",
    "Ruby",
    "Aisha",
    "Freya",
    "Lily",
    "Mia",
    "Eva",
    "Anya",
    "Lucy",
    "Orla",
    "Priya",
    "Tara",
    "Jade",
    "Noor",
    "Sam",
    "Omar",
    "Jack",
    "Leo",
    "Ravi",
    "Tom",
    "Ben",
    "Kai",
    "Dan",
    "Finn",
    "Luca",
    "Theo",
    "Adam",
    "Yusuf",
    "Ollie",
    "Alex",
    "Jordan",
    "Robin",
    "Charlie",
]
LAST = [
    "Khan",
    "Walsh",
    "Clarke",
    "Young",
    "Okafor",
    "Evans",
    "Price",
    "Patel",
    "Ahmed",
    "Hughes",
    "Sato",
    "Rossi",
    "Reid",
    "Hall",
    "Bello",
    "Moore",
    "Shaw",
    "Chen",
    "Novak",
    "Iyer",
]
SERVICES = ["Counselling", "Mental health advice", "Disability support", "Wellbeing workshops"]
FEMALE_SPELLINGS = ["Female", "female ", " Female", "FEMALE"]
COMMENTS = [
    "",
    "I'd like evening meetings, please",
    'The "drop-in" sessions helped a lot,\r\nbut waiting times are long.',
    "Happy to help.\r\nThanks!",
    "Accessible rooms, please; I use a wheelchair",
    "",
    "Line one\r\nLine two\r\nLine three",
]


def people() -> list[list[str]]:
    rows = []
    for i in range(45):
        number = i + 1
        if i < 26:
            gender = FEMALE_SPELLINGS[i % 4] if i % 3 == 0 else "Female"
        elif i < 41:
            gender = "Male"
        else:
            gender = "Prefer not to say"
        level = "Postgraduate" if i % 5 in (0, 2, 4) else "Undergraduate"
        chosen = [s for j, s in enumerate(SERVICES) if (i * 7 + j * 3) % 4 in (0, j % 2 + 1)]
        chosen = chosen or [SERVICES[i % 4]]
        first, last = FIRST[i], LAST[i % len(LAST)]
        day, minute = 3 + i // 15, (i * 7) % 60
        start = f"11/{day:02d}/26 10:{minute:02d}:05"
        done = f"11/{day:02d}/26 10:{minute:02d}:58"
        rows.append(
            [
                str(number),
                start,
                done,
                f"{first.lower()}.{last.lower()}@student.example.ac.uk",
                f"{first} {last}",
                gender,
                level,
                "".join(s + ";" for s in chosen),  # Forms ends every multi-select with ';'
                COMMENTS[i % len(COMMENTS)],
            ]
        )
    again = list(rows[11])
    again[0], again[1], again[2] = "46", "11/06/26 09:12:40", "11/06/26 09:13:31"
    rows.append(again)
    return rows


HEADER = [
    "ID",
    "Start time",
    "Completion time",
    "Email",
    "Name",
    "Gender",
    "Level of study",
    "Services accessed",
    "Is there anything else you would like us to know?",
]


def render() -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(people())
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


if __name__ == "__main__":
    (HERE / "registrations.csv").write_bytes(render())
