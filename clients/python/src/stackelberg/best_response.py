"""Best-response maths for linear demand ``P = a - b Q`` and linear cost ``C = fixed + c q``.

A single firm that moves after the quantities ``S`` of earlier tiers are committed (and with no
later tier reacting to it) maximises ``(a - b (S + q) - c) q``; the first-order condition gives

    q* = (a - c - b S) / (2 b),   clipped to [0, quantity_max].

With a demand shock the level ``a`` is shifted: ``a + shift`` (the ``DEMAND_SHIFT`` column of
``MoveRequest.observation``, when the run has shocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import pb
from .client import committed_total

__all__ = ["LinearModel", "UnsupportedModel", "best_response", "linear_model", "respond"]


class UnsupportedModel(ValueError):
    """The run's demand or the firm's cost is not linear."""


def best_response(a: float, b: float, c: float, committed: float, quantity_max: float) -> float:
    """``clip((a - c - b * committed) / (2 b), 0, quantity_max)``."""
    if not b > 0:
        raise ValueError(f"linear demand needs b > 0, got {b}")
    q = (a - c - b * committed) / (2.0 * b)
    return min(max(q, 0.0), quantity_max)


@dataclass(frozen=True)
class LinearModel:
    """What a best-response firm needs from RunParams."""

    a: float
    b: float
    c: float
    quantity_max: float
    batch: int
    #: Column of ``DEMAND_SHIFT`` in MoveRequest.observation, or -1.
    shift_col: int
    columns: int


def linear_model(params: pb.RunParams, firm_id: str) -> LinearModel:
    """Reads linear demand and ``firm_id``'s linear cost from ``params``; :class:`UnsupportedModel` otherwise."""
    kind = params.demand.WhichOneof("model")
    if kind != "linear":
        raise UnsupportedModel(f"best response needs linear demand; this run's demand is {kind or 'unset'}")
    me = [f for f in params.firms if f.firm_id == firm_id]
    if not me:
        raise UnsupportedModel(f"firm {firm_id} is not in the run's firms")
    ckind = me[0].cost.WhichOneof("model")
    if ckind != "linear":
        raise UnsupportedModel(f"best response needs a linear cost; {firm_id}'s cost is {ckind or 'unset'}")
    columns = list(params.observation_columns)
    return LinearModel(
        a=params.demand.linear.a,
        b=params.demand.linear.b,
        c=me[0].cost.linear.c,
        quantity_max=params.quantity_max,
        batch=params.batch,
        shift_col=columns.index(pb.DEMAND_SHIFT) if pb.DEMAND_SHIFT in columns else -1,
        columns=len(columns),
    )


def respond(model: LinearModel, move: pb.MoveRequest) -> list[float]:
    """The best response in every instance of ``move`` (length B)."""
    B = model.batch
    S = committed_total(move, B)
    obs: Sequence[float] = move.observation
    out = []
    for i in range(B):
        shift = obs[i * model.columns + model.shift_col] if model.shift_col >= 0 and len(obs) == B * model.columns else 0.0
        out.append(best_response(model.a + shift, model.b, model.c, S[i], model.quantity_max))
    return out
