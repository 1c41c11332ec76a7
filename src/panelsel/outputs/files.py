"""Output folders written all or nothing, and the files written into them.

The record
----------
Every folder panelsel writes holds a small hidden file, ``.panelsel`` (:data:`RECORD`),
listing the files panelsel wrote there and whether panelsel created the folder.  It is what
``--force`` goes by: it replaces only files that the record lists, refuses a folder holding
anything else (the input files above all), and never removes a folder it did not create.

How a folder is written
-----------------------
:class:`OutputFolder` is prepared before anything is computed: the destination is checked
(a file, a foreign or non-empty folder, another run writing to it, no permission), stale
temporary folders of earlier runs that were killed are removed (they are recognisable by
name and by the lock their owner no longer holds), and an empty staging folder is made.  The
caller writes every file into :attr:`OutputFolder.staging`; :meth:`OutputFolder.commit` puts
the whole set in place with the termination signals deferred (:func:`panelsel.signals.deferred`):

* ``create`` -- the destination does not exist: the staging folder, beside it, is renamed
  to it (one rename).
* ``replace`` -- the destination is a folder panelsel created: staging and destination are
  exchanged in one ``renameat2(RENAME_EXCHANGE)`` (two renames where the system has no
  such call), then the old files are removed.  The folder keeps its permissions; a symbolic
  link given as ``--out`` stays a link to it.
* ``inside`` -- the destination is a folder panelsel did not create (an empty folder made
  beforehand, a mount point): the staging folder is made inside it and the files are moved
  into place one by one, the record last.

An exception before the commit (an error, a signal) removes the staging folder, so nothing
is left behind.  Only ``kill -9`` or a power cut can stop a run half-way through the moves
of an ``inside`` commit, a window of a few system calls; the next run into that folder
removes the staging folder.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from panelsel import __version__, signals
from panelsel.errors import BadInputError
from panelsel.outputs.names import WRITTEN_NAMES

RECORD = ".panelsel"
"""The hidden file listing what panelsel wrote in a folder."""
RECORD_FORMAT = "panelsel-folder/1"
STAGING_TAG = ".panelsel-tmp-"
"""Staging folders are named ``.<out>.panelsel-tmp-<pid>-<random>`` beside the destination
(or ``.panelsel-tmp-<pid>-<random>`` inside it)."""
LOCK_NAME = ".lock"
"""The file inside a staging folder that its run holds locked (``flock``) while it lives."""
OWN_FILES = frozenset({*WRITTEN_NAMES, RECORD, LOCK_NAME})
"""Every name panelsel writes; a stale staging folder is removed only if it holds no other."""
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2`` with ``flags``; False where the system or file system lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    if call(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(dst))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_record(folder: Path) -> dict[str, Any] | None:
    """The folder's record (see the module notes), or None if it has none or it is not
    panelsel's."""
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    # a record can only vouch for names panelsel writes: an edited one cannot make --force
    # remove anything else
    data["files"] = [f for f in files if f in OWN_FILES and f != RECORD]
    return data


def _is_staging(name: str, out_name: str) -> bool:
    return name.startswith(f".{out_name}{STAGING_TAG}") or name.startswith(STAGING_TAG)


def _holder_alive(staging: Path) -> bool:
    """True if the run that made ``staging`` still holds its lock."""
    try:
        fd = os.open(staging / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False  # a staging folder always gets its lock first: this one is dead
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_own(folder: Path) -> bool:
    """Remove ``folder`` if it holds only files panelsel writes; True if it is gone."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return True
    if any(e.name not in OWN_FILES or not e.is_file(follow_symlinks=False) for e in entries):
        return False
    for e in entries:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(e.path)
    try:
        os.rmdir(folder)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _directory_lock(folder: Path) -> Iterator[None]:
    """Serialise the few checks and renames of runs writing beside each other."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is inside ``folder`` (at any depth, links resolved)."""
    inner, outer = path.resolve(), folder.resolve()
    return outer in inner.parents


def _describe_foreign(names: list[str], out: Path, inputs: Sequence[Path]) -> str:
    def listed(items: list[str]) -> str:
        shown = ", ".join(repr(n) for n in items[:5])
        return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    mine = {Path(p).resolve() for p in inputs}
    held = [n for n in names if (out / n).resolve() in mine]
    others = [n for n in names if n not in held]
    parts = []
    if held:
        parts.append(f"this run's input file(s) {listed(held)}")
    if others:
        parts.append(f"file(s) panelsel did not write: {listed(others)}")
    return (
        f"the output folder holds {' and '.join(parts)}; --force replaces only files "
        "panelsel wrote there"
    )


class OutputFolder:
    """A destination folder prepared for an all-or-nothing write (see the module notes).

    Parameters
    ----------
    out
        The destination folder.
    force
        Replace files panelsel wrote there before (never any other).
    command
        What is writing (``"select"``, ``"compare"``, ``"draw"``), for the record.
    inputs
        The run's input files, named in the refusal when the folder holds one of them.
    adds
        ``None``: the run's files are the whole folder (``select``, ``compare``).  A list of
        names: the run adds these files to a folder that keeps the rest (``draw``).

    Use as a context manager: on leaving the block normally the files written into
    :attr:`staging` are committed; on an exception the staging folder is removed.
    """

    def __init__(
        self,
        out: str | Path,
        *,
        force: bool,
        command: str,
        inputs: Sequence[Path] = (),
        adds: Sequence[str] | None = None,
    ) -> None:
        given = Path(out)
        self.out = Path(os.path.realpath(given)) if given.is_symlink() else given.absolute()
        self.shown = str(given)
        self.force = force
        self.command = command
        self.inputs = tuple(inputs)
        self.adds = None if adds is None else tuple(adds)
        self.mode = "create"
        self.staging = Path()
        self._lock_fd: int | None = None
        self._record: dict[str, Any] | None = None
        self._previous: list[str] = []
        self._made_parents: list[Path] = []
        self.committed = False
        self._prepare()

    # ------------------------------------------------------------------ preparation

    def _refuse(self, message: str, hint: str) -> BadInputError:
        return BadInputError(message, file=self.shown, hint=hint)

    def _entries(self) -> list[str]:
        return sorted(
            e for e in os.listdir(self.out) if e != RECORD and not _is_staging(e, self.out.name)
        )

    def _check(self) -> None:
        """Decide the mode, or refuse the destination (exit 2, nothing written)."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise self._refuse("the output path exists and is not a folder", "choose another --out")
        if not out.exists():
            self.mode = "create"
            self._record, self._previous = None, []
            return
        record = read_record(out)
        recorded = set(record["files"]) if record else set()
        entries = self._entries()
        clashing = entries if self.adds is None else [e for e in entries if e in self.adds]
        if clashing and not self.force:
            if self.adds is None:
                raise self._refuse(
                    "the output folder exists and is not empty",
                    "choose another --out, or pass --force to replace what panelsel wrote there",
                )
            raise self._refuse(
                f"{', '.join(clashing)} already exist(s) in the folder",
                "pass --force to replace them",
            )
        foreign = [
            e
            for e in clashing
            if e not in recorded or (out / e).is_symlink() or not (out / e).is_file()
        ]
        if foreign and record is None and all(e in OWN_FILES for e in foreign):
            raise self._refuse(
                "the output folder holds files with panelsel's names but no .panelsel record "
                f"({', '.join(map(repr, foreign[:5]))}): an earlier panelsel version, or files "
                "copied there, so --force cannot tell that panelsel wrote them",
                "remove the folder yourself if it is an old result, or choose another --out",
            )
        if foreign:
            raise self._refuse(
                _describe_foreign(foreign, out, self.inputs),
                "choose another --out (a new folder is best); panelsel never deletes files it "
                "did not write",
            )
        # files panelsel wrote, but read by this run: the run a round continues
        if self.adds is None:
            inside = [p for p in self.inputs if _within(Path(p), out)]
            if inside:
                raise self._refuse(
                    f"the output folder holds {inside[0]}, which this {self.command} reads (an "
                    "input, or a run of the chain a round continues); even with --force, "
                    "panelsel never writes over what it reads",
                    "choose another --out (a new folder is best)",
                )
        self._record, self._previous = record, entries
        whole = record is not None and all(e in recorded for e in entries)
        movable = not os.path.ismount(out) and out != Path.cwd().absolute()
        if whole and record is not None and record.get("created_folder") is True and movable:
            self.mode = "replace"
        else:
            self.mode = "inside"

    def _clean_stale(self) -> None:
        places = [self.out.parent]
        if self.out.is_dir():
            places.append(self.out)
        for place in places:
            try:
                names = os.listdir(place)
            except OSError:
                continue
            for name in names:
                path = place / name
                if not _is_staging(name, self.out.name) or not path.is_dir():
                    continue
                if place == self.out.parent and not name.startswith(f".{self.out.name}."):
                    continue
                if _holder_alive(path):
                    pid = name.rsplit(STAGING_TAG, 1)[-1].split("-")[0]
                    raise self._refuse(
                        f"another panelsel run (process {pid}) is writing to this folder",
                        "wait for it to finish, or choose another --out",
                    )
                _remove_own(path)

    def _prepare(self) -> None:
        parent = self.out.parent
        missing = [p for p in (parent, *parent.parents) if not p.exists()]
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._made_parents = missing  # removed again if the run fails
            with _directory_lock(parent):
                self._check()
                self._clean_stale()
                tag = f"{STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
                if self.mode == "inside":
                    self.staging = self.out / tag
                else:
                    self.staging = parent / f".{self.out.name}{tag}"
                os.mkdir(self.staging, 0o700)
                fd = os.open(self.staging / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
        except OSError as exc:
            self._discard()
            raise self._refuse(
                f"cannot write the output folder ({exc.strerror or exc})",
                "choose a --out in a folder you can write to",
            ) from None

    # ------------------------------------------------------------------ commit

    def _files(self) -> list[str]:
        return sorted(n for n in os.listdir(self.staging) if n not in (LOCK_NAME, RECORD))

    def _write_record(self, files: list[str], created: bool) -> None:
        record = {
            "format": RECORD_FORMAT,
            "written_by": f"panelsel {__version__}",
            "command": self.command,
            "created_folder": created,
            "files": sorted(files),
            "note": "panelsel --force replaces only the files listed here",
        }
        (self.staging / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    def commit(self) -> None:
        """Put the staged files in place (see the module notes); signals wait until done."""
        new = self._files()
        parent = self.out.parent
        with _directory_lock(parent), signals.deferred():
            planned = self.mode
            self._check()  # the folder may have changed while the run computed
            if self.mode != planned:
                raise self._refuse(
                    "the output folder changed while the lottery was computed",
                    "run again (nothing was written)",
                )
            recorded = set(self._record["files"]) if self._record else set()
            if self.mode == "create":
                self._write_record(new, True)
                os.chmod(self.staging, 0o777 & ~_umask())
                self._release_lock()
                if not _renameat2(self.staging, self.out, _RENAME_NOREPLACE):
                    if self.out.exists():
                        raise self._refuse("the output folder appeared meanwhile", "run again")
                    os.rename(self.staging, self.out)
                self.committed = True
            elif self.mode == "replace":
                keep = [] if self.adds is None else [e for e in self._previous if e not in new]
                for name in keep:
                    try:
                        os.link(self.out / name, self.staging / name)
                    except OSError:
                        shutil.copy2(self.out / name, self.staging / name)
                self._write_record(new + keep, True)
                os.chmod(self.staging, os.stat(self.out).st_mode & 0o7777)
                self._release_lock()
                if not _renameat2(self.staging, self.out, _RENAME_EXCHANGE):
                    aside = parent / f".{self.out.name}{STAGING_TAG}{os.getpid()}-old"
                    os.rename(self.out, aside)
                    os.rename(self.staging, self.out)
                    self.staging = aside
                self.committed = True
                _remove_own(self.staging)  # the old files, all panelsel's
            else:
                gone = [e for e in self._previous if e in recorded and e not in new]
                if self.adds is not None:
                    gone = []
                kept = sorted(recorded - set(new) - set(gone)) if self.adds is not None else []
                for name in new:
                    os.replace(self.staging / name, self.out / name)
                for name in gone:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.out / name)
                self._write_record(new + [k for k in kept if (self.out / k).exists()], False)
                os.replace(self.staging / RECORD, self.out / RECORD)
                self.committed = True
                self._discard()
            signals.wrote(self.shown)

    # ------------------------------------------------------------------ clean-up

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.staging / LOCK_NAME)

    def _discard(self) -> None:
        if self.staging != Path() and self.staging != self.out:
            self._release_lock()
            shutil.rmtree(self.staging, ignore_errors=True)
        if not self.committed:
            for folder in self._made_parents:  # deepest first, and only if still empty
                with contextlib.suppress(OSError):
                    os.rmdir(folder)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is None:
            try:
                self.commit()
            except OSError as exc:
                self._discard()
                raise _write_error(exc, self.shown) from None
            except BaseException:
                if not self.committed:
                    self._discard()
                raise
            return
        if not self.committed:
            self._discard()
        if isinstance(error, OSError):
            raise _write_error(error, self.shown) from None


def _write_error(exc: OSError, where: str) -> BadInputError:
    """A failed write (a full disk, a lost permission) as bad input: nothing was written."""
    reason = exc.strerror or str(exc)
    hint = "choose another --out"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some disk space, or choose a --out on another disk"
    return BadInputError(
        f"could not write the outputs ({reason}); nothing was written", file=where, hint=hint
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Cell beginnings that spreadsheet programs read as a formula (OWASP, "CSV Injection")."""


def _needs_escape(cell: str) -> bool:
    """Cells :func:`spreadsheet_safe` prefixes: those starting like a formula, and those
    starting with an apostrophe that is followed by a formula start or another apostrophe
    (so that a cell that really begins ``'=`` survives the round trip)."""
    return cell.startswith(FORMULA_STARTS) or (
        cell.startswith("'") and cell[1:].startswith((*FORMULA_STARTS, "'"))
    )


def spreadsheet_safe(cell: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe, so that spreadsheet
    programs show it as text; anything else is returned unchanged.  Reversible by
    :func:`unescape` for every cell, including ones that already start with ``'``."""
    if isinstance(cell, str) and _needs_escape(cell):
        return "'" + cell
    return cell


def unescape(cell: str) -> str:
    """The inverse of :func:`spreadsheet_safe` (for reading panelsel's own outputs)."""
    if cell.startswith("'") and _needs_escape(cell[1:]):
        return cell[1:]
    return cell


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written: its ``delimiter`` and ``encoding`` (``utf-8-sig`` writes
    the byte-order mark by which Excel recognises UTF-8)."""

    delimiter: str = ","
    encoding: str = "utf-8"

    def as_dict(self) -> dict[str, str]:
        return {"delimiter": self.delimiter, "encoding": self.encoding}


PLAIN_CSV = CsvFormat()
"""UTF-8 without a byte-order mark, comma-separated: the files meant for programs
(``probabilities.csv``, ``panels.csv``)."""


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterator[Sequence[Any]] | list[Any],
    *,
    safe: bool = True,
    fmt: CsvFormat = PLAIN_CSV,
) -> None:
    """Write a CSV with a header row (UTF-8 and commas unless ``fmt`` says otherwise); with
    ``safe`` (the default) every cell, header included, goes through
    :func:`spreadsheet_safe`."""
    with path.open("w", encoding=fmt.encoding, newline="") as f:
        writer = csv.writer(f, delimiter=fmt.delimiter)
        if safe:
            writer.writerow([spreadsheet_safe(c) for c in header])
            writer.writerows([spreadsheet_safe(c) for c in row] for row in rows)
        else:
            writer.writerow(header)
            writer.writerows(rows)


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write one sheet of text cells (a contact list Excel opens as it is: no delimiter or
    encoding to guess).  Every cell is stored as text, so no cell is ever run as a formula
    and ids such as ``007`` keep their zeros."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    book = Workbook(write_only=True)
    sheet = book.create_sheet("registrants")
    for values in [list(header), *([str(c) for c in row] for row in rows)]:
        cells = []
        for value in values:
            # Excel's line break in a cell is LF (XML reads a CR LF as LF anyway)
            cell = _text_cell(sheet, value.replace("\r\n", "\n"), TYPE_STRING)
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def _text_cell(sheet: Any, value: str, kind: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = kind  # text, whatever the value looks like (never a formula)
    return cell


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON object one key per line, list items one per line, each item compact.

    Large lotteries stay readable line by line (one panel a line) without the size of fully
    indented JSON.
    """

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            inner = ",\n".join(f"  {dump(v)}" for v in value)
            lines.append(f" {dump(key)}: [\n{inner}\n ]")
        else:
            lines.append(f" {dump(key)}: {dump(value)}")
    with path.open("w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
