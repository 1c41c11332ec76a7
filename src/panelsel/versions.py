"""The versions that decide a selection's result, recorded in ``lottery.json``.

The lottery panelsel computes is a function of the inputs and the seed *and* of the
software that solved it: LEXIMIN's per-person probabilities are unique, but which of many
optimal lotteries the solver returns (and so which panel a seed draws, and the bytes of a
published lottery) depends on the solver's version, and the random streams on numpy's. An
auditor whose install differs cannot expect the rerun to give the same bytes, so the audit's
``recompute`` check is *inconclusive* then (not failed), and names the install that would
match (:func:`matching_install`).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

from panelsel import __version__

DECIDING_PACKAGES = ("numpy", "scipy", "highspy", "pulp")
"""Distributions whose version can change a result: numpy (random streams), scipy (the
audit's and the rounding's LPs), highspy (HiGHS, the default solver) and pulp (ships the CBC
binary of ``--solver cbc``)."""


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def python_version() -> str:
    """Python's major.minor: what can change a result (the micro release does not)."""
    major, minor, _ = platform.python_version_tuple()
    return f"{major}.{minor}"


def deciding_versions() -> dict[str, str]:
    """The versions of this install that can decide a result, in a fixed order."""
    return {
        "panelsel": __version__,
        "python": python_version(),
        **{name: _distribution_version(name) for name in DECIDING_PACKAGES},
    }


def differing_versions(recorded: object) -> list[tuple[str, str, str]]:
    """``(name, recorded, installed)`` for each deciding version that differs from this
    install's.  A record without versions (written before they were recorded) differs in
    every one except panelsel's own ``version`` field, which the caller passes inside
    ``recorded`` as ``{"panelsel": ...}`` when that is all there is."""
    installed = deciding_versions()
    if not isinstance(recorded, Mapping):
        recorded = {}
    return [
        (name, str(recorded.get(name, "not recorded")), current)
        for name, current in installed.items()
        if str(recorded.get(name, "not recorded")) != current
    ]


def matching_install(recorded: object) -> str:
    """The pip command (and Python) that installs the recorded versions."""
    if not isinstance(recorded, Mapping):
        return "the versions are not recorded in lottery.json (it predates recording them)"
    pins = [
        f"{name}=={recorded[name]}"
        for name in ("panelsel", *DECIDING_PACKAGES)
        if isinstance(recorded.get(name), str) and recorded[name] != "not installed"
    ]
    python = recorded.get("python")
    where = f" on Python {python}" if isinstance(python, str) else ""
    return f"pip install {' '.join(pins)}{where}"
