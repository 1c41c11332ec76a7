"""The one exception hierarchy of panelsel.

Every error a user can cause or meet derives from :class:`PanelselError` and carries the
process exit code the command-line interface uses for it, so that scripts can tell a bad
input file from quotas that cannot be met from a solver that gave up.

=====  ===========================  ===============================================
code   exception                    meaning
=====  ===========================  ===============================================
0      --                           success
2      :class:`BadInputError`       a file or option is wrong; the message says how
3      :class:`InfeasibleQuotasError`  no panel can meet the quotas
4      :class:`SolverError`         the LP/ILP solver failed or hit its time limit
5      :class:`VerificationError`   a published file or the pool is not what was recorded
6      --                           ``audit``: every check passed but one was
                                    inconclusive (not verified; see ``--no-recompute``)
=====  ===========================  ===============================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4
EXIT_VERIFICATION = 5
EXIT_NOT_VERIFIED = 6
"""``audit``: no check failed, but one could not decide (the recompute of a run made with
other software versions, or of a best-effort run), so the selection is not verified."""


class PanelselError(Exception):
    """Base class of every error panelsel raises on purpose."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready description, for ``--json`` output."""
        return {
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class BadInputError(PanelselError):
    """An input file or option is malformed; the message names file, row, column and value."""

    exit_code = EXIT_BAD_INPUT
    kind = "bad_input"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)
        self.file = file
        self.row = row
        self.column = column
        self.value = value

    def as_dict(self) -> dict[str, object]:
        d = super().as_dict()
        d.update(
            file=self.file,
            row=self.row,
            column=self.column,
            value=None if self.value is None else str(self.value),
        )
        return d


class InfeasibleQuotasError(PanelselError):
    """No panel of the requested size meets every quota (and the household rule)."""

    exit_code = EXIT_INFEASIBLE
    kind = "infeasible"

    def __init__(self, message: str, *, reasons: list[str] | None = None, hint: str | None = None):
        self.reasons = list(reasons or [])
        full = message
        if self.reasons:
            full += "\n" + "\n".join(f"  - {r}" for r in self.reasons)
        super().__init__(full, hint=hint)

    def as_dict(self) -> dict[str, object]:
        d = super().as_dict()
        d["reasons"] = self.reasons
        return d


class SolverError(PanelselError):
    """The LP/ILP solver failed, returned an unexpected status, or ran out of time."""

    exit_code = EXIT_SOLVER
    kind = "solver"


class TimeLimitError(SolverError):
    """``--time-limit`` ran out (``--best-effort`` may then use the best lottery so far)."""

    kind = "time_limit"


class NumericalInfeasibilityError(SolverError):
    """A model solved after the feasibility ILP had shown the quotas feasible came back
    "infeasible", also when solved afresh: round-off, never a verdict on the quotas."""

    kind = "numerical"


class VerificationError(PanelselError):
    """A file does not match what was published or recorded (a sha256, a panel list, a
    draw): ``draw`` refuses to go on and ``audit`` fails with the same exit code."""

    exit_code = EXIT_VERIFICATION
    kind = "verification"
