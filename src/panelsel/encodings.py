"""Which codec names panelsel accepts for a file's text (``--encoding``, ``--out-encoding``,
a recorded encoding).

Python's codec registry also holds byte and text *transforms* (``base64``, ``zlib``,
``hex``, ``rot13``) and codecs for domain names (``idna``, ``punycode``); given for a CSV
file they crash while reading or write files nothing can read back.  Only codecs that turn
text into bytes and back, and keep a CSV line as it was, are accepted.
"""

from __future__ import annotations

import codecs

from panelsel.errors import BadInputError

DOMAIN_NAME_CODECS = frozenset({"idna", "punycode"})
PROBE = 'id,name;"x"\r\n1,a b\t\n'
"""A CSV line in ASCII: a text encoding for files writes it and reads it back unchanged."""


def text_encoding_problem(name: str) -> str | None:
    """Why ``name`` is not a text encoding for files (None when it is)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return "is not an encoding Python knows"
    if not getattr(info, "_is_text_encoding", True):
        return "transforms data (like base64, zlib or rot13), it is not a text encoding"
    if info.name in DOMAIN_NAME_CODECS:
        return "encodes internet domain names, not files"
    try:
        if PROBE.encode(name).decode(name) != PROBE:
            return "does not read back the text it writes"
    except (UnicodeError, ValueError, TypeError):
        return "cannot write a plain CSV line"
    return None


def check_text_encoding(name: str, option: str) -> str:
    """``name``, or a :class:`BadInputError` naming ``option`` and what to pass instead."""
    problem = text_encoding_problem(name)
    if problem is not None:
        raise BadInputError(
            f"{option} {name!r} {problem}",
            hint=f"pass a text encoding such as utf-8, utf-8-sig, cp1252 or latin-1 to {option}",
        )
    return name
