"""LEGACY: the greedy procedure the Sortition Foundation used before LEXIMIN.

Algorithm
---------
One run fills the panel one person at a time.  At each step, for every category value that
still has registrants left and a maximum above 0, the *ratio* ``(min - selected) /
remaining`` is how much of what is left of that value the panel still needs; the value with
the largest ratio (the first in quota order on ties) is served by drawing one of its remaining
registrants uniformly at random.  After each selection, every value that has reached its
maximum has its remaining registrants removed from the pool, and so does a household that has
reached the household bound (values with a maximum of 0 are full from the start).  A run is
*stuck* when some value needs more people than remain (or the panel is full with a minimum
unmet); it is then started again from scratch, up to ``MAX_ATTEMPTS`` times.

The procedure has no closed-form lottery: each person's selection probability is *estimated*
by running it ``samples`` times (``DEFAULT_SAMPLES``) and counting, with a Wilson score
interval at 99% (``Z_99``).  The runs use independent streams spawned from the recorded
seed (:class:`numpy.random.SeedSequence`); the first run is the drawn panel, so the same seed
gives the same panel and the same estimates.

References
----------
.. [1] Sortition Foundation, "stratification-app" (2019-2021), the ``legacy`` selection
   procedure; described in B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia,
   "Fair algorithms for selecting citizens' assemblies", Nature 596, 548-552 (2021),
   Methods: "Benchmark: the greedy algorithm".
.. [2] E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
   J. Amer. Statist. Assoc. 22, 209-212 (1927).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from panelsel.defaults import DEFAULT_SAMPLES
from panelsel.errors import SolverError
from panelsel.inputs.model import Model
from panelsel.lotteries import Lottery
from panelsel.progress import ProgressFn
from panelsel.solve.protocol import Estimate

MAX_ATTEMPTS = 100
"""Restarts of one run before the procedure is declared stuck."""
Z_99 = 2.5758293035489004
"""The standard normal quantile for a two-sided 99% interval."""
PROGRESS_EVERY = 200


class LegacyProcedure:
    """The greedy procedure on one model; :meth:`run` makes one panel with a generator."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.features = model.person_features.astype(bool)
        self.columns = [np.flatnonzero(col) for col in self.features.T]
        self.mins = model.feature_min.astype(np.float64)
        self.maxs = model.feature_max
        self.house = model.person_household
        self.house_members = [np.flatnonzero(self.house == h) for h in range(len(model.households))]

    def attempt(self, rng: np.random.Generator) -> npt.NDArray[np.intp] | None:
        """One attempt: the panel's sorted members, or None when stuck."""
        m = self.model
        # values whose maximum is 0 are full from the start: their people are never drawn
        remaining = np.asarray(~self.features[:, self.maxs <= 0].any(axis=1), dtype=bool)
        selected = np.zeros(len(m.features), dtype=np.int64)
        left = self.features[remaining].sum(axis=0).astype(np.int64)
        in_house = np.zeros(len(self.house_members), dtype=np.int64)
        chosen = []
        for _ in range(m.k):
            need = self.mins - selected
            if np.any(need > left):
                return None
            open_ = (left > 0) & (self.maxs > 0)
            if not open_.any():
                return None
            ratio = np.where(open_, need / np.maximum(left, 1), -np.inf)
            j = int(np.argmax(ratio))
            candidates = self.columns[j][remaining[self.columns[j]]]
            person = int(candidates[rng.integers(len(candidates))])
            chosen.append(person)
            drop = np.zeros(m.n, dtype=bool)
            drop[person] = True
            selected += self.features[person]
            for f in np.flatnonzero(self.features[person] & (selected >= self.maxs)):
                drop[self.columns[f]] = True
            h = self.house[person]
            if h >= 0:
                in_house[h] += 1
                if in_house[h] >= m.household_caps[h]:
                    drop[self.house_members[h]] = True
            gone = drop & remaining
            remaining &= ~drop
            left -= self.features[gone].sum(axis=0)
        if np.any(selected < self.mins) or np.any(selected > self.maxs):
            return None
        return np.array(sorted(chosen), dtype=np.intp)

    def run(self, rng: np.random.Generator) -> tuple[npt.NDArray[np.intp], int]:
        """One panel (restarting when stuck) and how many restarts it took."""
        for restarts in range(MAX_ATTEMPTS):
            panel = self.attempt(rng)
            if panel is not None:
                return panel, restarts
        raise SolverError(
            f"the legacy procedure got stuck {MAX_ATTEMPTS} times in a row",
            hint="the quotas leave it too little room; use --algorithm leximin, which either "
            "finds a panel or proves that none exists",
        )


def run_stream(seed: int, i: int) -> np.random.SeedSequence:
    """The stream of run ``i``: the ``i``-th child that ``SeedSequence(seed).spawn`` would
    make, built on its own so that a billion runs need no list of a billion seeds."""
    return np.random.SeedSequence(seed, spawn_key=(i,))


def legacy_draw(model: Model, seed: int) -> npt.NDArray[np.intp]:
    """The panel that the recorded seed draws (the first run of :func:`estimate`)."""
    return LegacyProcedure(model).run(np.random.default_rng(run_stream(seed, 0)))[0]


def wilson_interval(
    hits: npt.NDArray[np.int64], samples: int, z: float = Z_99
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The Wilson score interval of each proportion ``hits / samples``."""
    p = hits / samples
    denom = 1 + z * z / samples
    centre = (p + z * z / (2 * samples)) / denom
    half = z * np.sqrt(p * (1 - p) / samples + z * z / (4 * samples * samples)) / denom
    return np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)


def estimate(
    model: Model,
    seed: int,
    samples: int = DEFAULT_SAMPLES,
    progress: ProgressFn | None = None,
    deadline: Callable[[], object] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Estimate:
    """Run the procedure ``samples`` times from streams of ``seed`` and count.

    ``deadline`` is called every ``PROGRESS_EVERY`` runs (it raises when time is up);
    ``should_stop`` is asked as often, and when it says so the estimate is made from the
    runs done so far (``--best-effort``; ``samples`` then says how many).
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    procedure = LegacyProcedure(model)
    hits = np.zeros(model.n, dtype=np.int64)
    seen: Counter[bytes] = Counter()
    panels: dict[bytes, npt.NDArray[np.intp]] = {}
    restarts = 0
    drawn = np.zeros(0, dtype=np.intp)
    done = 0
    for i in range(samples):
        if i % PROGRESS_EVERY == 0:
            if progress:
                progress("legacy runs", i, samples)
            if deadline:
                deadline()
            if i and should_stop and should_stop():
                break
        done += 1
        panel, r = procedure.run(np.random.default_rng(run_stream(seed, i)))
        restarts += r
        if i == 0:
            drawn = panel
        hits[panel] += 1
        key = panel.tobytes()
        seen[key] += 1
        panels.setdefault(key, panel)
    if progress:
        progress("legacy runs", samples, samples)
    samples = done
    order = sorted(panels, key=lambda key: tuple(panels[key].tolist()))
    lottery = Lottery(
        panels=[panels[key] for key in order],
        probabilities=np.array([seen[key] / samples for key in order], dtype=np.float64),
    )
    low, high = wilson_interval(hits, samples)
    return Estimate(
        lottery=lottery,
        probabilities=hits / samples,
        low=low,
        high=high,
        samples=samples,
        restarts=restarts,
        drawn=drawn,
        stats={"samples": samples, "restarts": restarts, "distinct_panels": len(order)},
    )
