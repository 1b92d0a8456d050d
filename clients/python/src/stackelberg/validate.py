"""Checks of messages off the wire: a move request or an outcome is hostile until it matches the run.

:class:`~stackelberg.client.FirmClient` drops a message these functions find a problem with (and
logs it at a bounded rate), so a policy only ever sees move requests whose arrays have the run's
shape and hold finite numbers, and outcomes it can index (docs/protocol.md, "A firm's side of the
protocol"). Each function returns ``None`` for a good message, or one line saying what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Optional

from . import pb

__all__ = ["carries_own_last_quantity", "carries_own_marginal_cost", "move_problem", "outcome_problem"]


def carries_own_last_quantity(params: pb.RunParams) -> bool:
    """The run's move requests carry ``own_last_quantity`` (the run has an adjustment cost)."""
    return params.adjustment_cost > 0


def carries_own_marginal_cost(params: pb.RunParams) -> bool:
    """The run's move requests carry ``own_marginal_cost`` (some firm has a learning-by-doing cost)."""
    return any(f.cost.WhichOneof("model") == "learning_by_doing" for f in params.firms)


def _first_non_finite(values: Iterable[float]) -> Optional[int]:
    for i, v in enumerate(values):
        if not math.isfinite(v):
            return i
    return None


def move_problem(params: pb.RunParams, move: pb.MoveRequest, firm_id: str) -> Optional[str]:
    """What makes ``move`` unusable by firm ``firm_id`` of the run ``params`` describes, or ``None``.

    A usable move request names the firm in ``tier_firm_ids``, has the run's batch B, an
    observation of B x ``len(observation_columns)`` values, ``len(firm_ids) * B`` values in each
    ``committed`` entry, ``own_last_quantity`` and ``own_marginal_cost`` of one row per tier firm
    (required in the runs that carry them, else empty or full), and only finite numbers.
    """
    if firm_id not in move.tier_firm_ids:
        return f"round {move.round}: the move request does not name {firm_id}"
    B = int(params.batch)
    if move.batch != B:
        return f"round {move.round}: batch {move.batch}, the run's batch is {B}"
    C = len(params.observation_columns)
    if len(move.observation) != B * C:
        return f"round {move.round}: {len(move.observation)} observation values, want {B} x {C} = {B * C}"
    i = _first_non_finite(move.observation)
    if i is not None:
        return f"round {move.round}: observation[{i}] = {move.observation[i]} is not finite"
    for k, tq in enumerate(move.committed):
        want = len(tq.firm_ids) * B
        if len(tq.quantities) != want:
            return (
                f"round {move.round}: committed[{k}] (tier {tq.tier}) holds {len(tq.quantities)} quantities, "
                f"want {len(tq.firm_ids)} firms x {B} = {want}"
            )
        i = _first_non_finite(tq.quantities)
        if i is not None:
            return f"round {move.round}: committed[{k}].quantities[{i}] = {tq.quantities[i]} is not finite"
    rows = len(move.tier_firm_ids) * B
    for name, values, required in (
        ("own_last_quantity", move.own_last_quantity, carries_own_last_quantity(params)),
        ("own_marginal_cost", move.own_marginal_cost, carries_own_marginal_cost(params)),
    ):
        if len(values) != rows and (required or len(values) != 0):
            return f"round {move.round}: {len(values)} {name} values, want {len(move.tier_firm_ids)} firms x {B} = {rows}"
        i = _first_non_finite(values)
        if i is not None:
            return f"round {move.round}: {name}[{i}] = {values[i]} is not finite"
    return None


def outcome_problem(params: pb.RunParams, outcome: pb.Outcome, firm_id: str) -> Optional[str]:
    """What makes ``outcome`` unusable by firm ``firm_id``, or ``None``.

    A usable outcome names the firm in ``firm_ids``, has the run's batch B, B prices,
    ``len(firm_ids) * B`` quantities and profits, all finite, and ``absent`` / ``evicted`` of one
    entry per firm (or none).
    """
    B = int(params.batch)
    if outcome.batch != B:
        return f"round {outcome.round}: batch {outcome.batch}, the run's batch is {B}"
    if firm_id not in outcome.firm_ids:
        return f"round {outcome.round}: the outcome does not name {firm_id}"
    F = len(outcome.firm_ids)
    for name, values, want in (
        ("prices", outcome.prices, B),
        ("quantities", outcome.quantities, F * B),
        ("profits", outcome.profits, F * B),
    ):
        if len(values) != want:
            return f"round {outcome.round}: {len(values)} {name}, want {want}"
        i = _first_non_finite(values)
        if i is not None:
            return f"round {outcome.round}: {name}[{i}] = {values[i]} is not finite"
    for name, n in (("absent", len(outcome.absent)), ("evicted", len(outcome.evicted))):
        if n not in (0, F):
            return f"round {outcome.round}: {n} {name} flags for {F} firms"
    return None
