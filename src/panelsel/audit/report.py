"""The audit's verdict: every check with its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panelsel.audit.certificates import (
    Check,
)
from panelsel.errors import EXIT_VERIFICATION

EXIT_AUDIT_FAILED = EXIT_VERIFICATION


@dataclass
class AuditReport:
    out: Path
    algorithm: str
    checks: list[Check]
    proven_optimal: bool = True
    """False where lottery.json says the lottery is not proven optimal (best effort): the
    verdict says so, whatever the checks found."""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def skipped(self) -> list[str]:
        return [c.name for c in self.checks if c.skipped]

    @property
    def inconclusive(self) -> list[str]:
        return [c.name for c in self.checks if c.inconclusive]

    @property
    def verified(self) -> bool:
        """Every check passed and none was inconclusive (a skipped check was asked for)."""
        return self.passed and not self.inconclusive

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "algorithm": self.algorithm,
            "passed": self.passed,
            "verified": self.verified,
            "proven_optimal": self.proven_optimal,
            "skipped": self.skipped,
            "inconclusive": self.inconclusive,
            "checks": [c.__dict__ for c in self.checks],
        }
