"""The notes of a selection, in the order every output shows them: first whether the
lottery is proven optimal, then who has no chance, registrations that look like one
person's and the inputs' warnings, then what explains the lottery."""

from __future__ import annotations

from panelsel.inputs.model import Model
from panelsel.inputs.pool import Pool
from panelsel.lottery.compute import PeopleLottery
from panelsel.outputs.tables import NOT_PROVEN_NOTE, high_chance_note, proven_note


def selection_notes(
    result: PeopleLottery,
    pool: Pool,
    model: Model,
    *,
    algorithm: str,
    time_limit: float | None,
    samples: int,
) -> tuple[list[str], list[str]]:
    """The notes of a selection and, among them, the warnings (who has no chance, then
    registrations that look like one person's)."""
    warnings = [e.text() for e in result.excluded] + pool.warnings
    notes: list[str] = warnings + [w for w in model.warnings if w not in pool.warnings]
    runs = int(result.stats.get("samples", samples))  # the runs done, as recorded
    if not result.proven_optimal and result.kind == "estimated":
        notes[:0] = [
            f"NOT FINISHED: the time limit of {time_limit:g} s ran out after {runs} of "
            f"the {samples} runs asked for (--best-effort): the estimates are over "
            f"those {runs} runs, with wider confidence intervals"
        ]
    elif not result.proven_optimal:
        proven_part = proven_note(result.stats)
        notes[:0] = [NOT_PROVEN_NOTE.format(limit=time_limit)] + (
            [proven_part] if proven_part else []
        )
    high = high_chance_note(algorithm, result.final_probabilities, pool.ids, model.k, model)
    if high is not None:
        notes.append(high)
    if result.kind == "estimated":
        notes.append(
            f"legacy has no exact lottery: probabilities are Monte-Carlo estimates over "
            f"{runs} runs, with 99% confidence intervals in probabilities.csv"
        )
    if result.kind == "published" and any("@" in pid for pid in pool.ids):
        notes.append(
            "some ids contain '@': lottery.json and panels.csv are meant to be published, so "
            "use opaque registration numbers as ids, not e-mail addresses"
        )
    return notes, warnings
