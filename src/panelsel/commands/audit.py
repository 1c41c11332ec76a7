"""``panelsel audit``: check a finished selection from its files alone
(:mod:`panelsel.audit`, whose notes list every check)."""

from __future__ import annotations

from panelsel.audit.report import EXIT_AUDIT_FAILED, AuditReport
from panelsel.audit.run import audit

__all__ = ["EXIT_AUDIT_FAILED", "AuditReport", "audit"]
