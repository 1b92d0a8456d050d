"""Best-response maths."""

from __future__ import annotations

import pytest

from stackelberg import committed_total, pb
from stackelberg.best_response import UnsupportedModel, best_response, linear_model, respond


def params(demand: pb.Demand | None = None, cost: pb.Cost | None = None, names: tuple[int, ...] = ()) -> pb.RunParams:
    return pb.RunParams(
        run_id="r",
        batch=3,
        quantity_max=100,
        tiers=2,
        demand=demand or pb.Demand(linear=pb.LinearDemand(a=100, b=1)),
        firms=[
            pb.FirmInfo(firm_id="follower", role=pb.ROLE_FOLLOWER, tier=1, cost=cost or pb.Cost(linear=pb.LinearCost(c=10))),
            pb.FirmInfo(firm_id="leader", role=pb.ROLE_LEADER, tier=0, cost=pb.Cost(linear=pb.LinearCost(c=10))),
        ],
        observation_columns=list(names),
    )


def test_classic_duopoly_follower_plays_22_5() -> None:
    assert best_response(100, 1, 10, 45, 100) == pytest.approx(22.5)


def test_clipping() -> None:
    assert best_response(100, 1, 10, 200, 100) == 0.0  # market saturated: produce nothing
    assert best_response(1000, 1, 0, 0, 100) == 100.0  # capped at quantity_max
    assert best_response(100, 2, 10, 0, 100) == pytest.approx(22.5)  # (100-10)/(2*2)
    with pytest.raises(ValueError):
        best_response(100, 0, 10, 0, 100)


def test_committed_is_firm_major_and_summed_over_tiers() -> None:
    B = 3
    move = pb.MoveRequest(
        batch=B,
        committed=[
            # two firms in tier 0: firm 0 = [1, 2, 3], firm 1 = [10, 20, 30]
            pb.TierQuantities(tier=0, firm_ids=["a", "b"], quantities=[1, 2, 3, 10, 20, 30]),
            pb.TierQuantities(tier=1, firm_ids=["c"], quantities=[100, 200, 300]),
        ],
    )
    assert committed_total(move, B) == [111, 222, 333]


def test_respond_per_instance() -> None:
    m = linear_model(params(), "follower")
    assert (m.a, m.b, m.c, m.quantity_max, m.batch) == (100, 1, 10, 100, 3)
    move = pb.MoveRequest(batch=3, committed=[pb.TierQuantities(tier=0, firm_ids=["leader"], quantities=[45, 0, 90])])
    assert respond(m, move) == pytest.approx([22.5, 45.0, 0.0])


def test_respond_uses_demand_shift_column() -> None:
    m = linear_model(params(names=(pb.DEMAND_SHIFT, pb.LAST_PRICE)), "follower")
    move = pb.MoveRequest(
        batch=3,
        observation=[2.0, 0, -2.0, 0, 0.0, 0],  # B x 2, shift column first
        committed=[pb.TierQuantities(tier=0, firm_ids=["leader"], quantities=[45, 45, 45])],
    )
    assert respond(m, move) == pytest.approx([23.5, 21.5, 22.5])


def test_refuses_other_models() -> None:
    with pytest.raises(UnsupportedModel, match="linear demand"):
        linear_model(params(demand=pb.Demand(exponential=pb.ExponentialDemand(a=1, b=1))), "follower")
    with pytest.raises(UnsupportedModel, match="linear cost"):
        linear_model(params(cost=pb.Cost(quadratic=pb.QuadraticCost(c=1, d=1))), "follower")
    with pytest.raises(UnsupportedModel, match="not in the run"):
        linear_model(params(), "nobody")


def test_column_names_come_from_the_contract() -> None:
    assert pb.column_name(pb.DEMAND_SHIFT) == "demand_shift"
    assert pb.column_name(pb.STEP_FRACTION) == "step_fraction"
    # A column of a newer contract keeps its number; unspecified is never a real column.
    assert pb.column_name(99) == "column_99"
    assert pb.column_name(0) == "column_0"
