"""The optimality check: each algorithm's certificate, checked by the audit's own solves."""

from __future__ import annotations

from typing import Any

from panelsel.audit.certificates import (
    Check,
)


def stopped(check: Check, claims: dict[str, Any]) -> Check:
    """A failed certificate of a lottery that claims no optimality (stopped at its time
    limit) says so first, as the certificates that state a bound do."""
    if check.passed or not claims.get("best_effort"):
        return check
    check.detail = "not proven optimal (stopped at its time limit): " + check.detail
    return check
