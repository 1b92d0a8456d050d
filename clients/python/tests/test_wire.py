"""What comes off the wire is hostile: the checks of move requests and outcomes, committed_total,
the environments' observation, the rate-limited log, and the contract's observation-column names."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from stackelberg import committed_total, pb
from stackelberg.ratelog import RateLimitedLog
from stackelberg.validate import carries_own_last_quantity, carries_own_marginal_cost, move_problem, outcome_problem

B = 3
FIRM = "f1"


def params(*, columns: tuple[int, ...] = (), adjustment_cost: float = 0.0, lbd: bool = False) -> pb.RunParams:
    cost = (
        pb.Cost(learning_by_doing=pb.LearningByDoingCost(c0=40, c_min=10, rate=0.01)) if lbd else pb.Cost(linear=pb.LinearCost(c=10))
    )
    return pb.RunParams(
        batch=B, quantity_max=100, adjustment_cost=adjustment_cost, observation_columns=list(columns),
        demand=pb.Demand(linear=pb.LinearDemand(a=100, b=1)),
        firms=[
            pb.FirmInfo(firm_id="lead", tier=0, role=pb.ROLE_LEADER, cost=pb.Cost(linear=pb.LinearCost(c=10))),
            pb.FirmInfo(firm_id=FIRM, tier=1, role=pb.ROLE_FOLLOWER, cost=cost),
            pb.FirmInfo(firm_id="f2", tier=1, role=pb.ROLE_FOLLOWER, cost=pb.Cost(linear=pb.LinearCost(c=10))),
        ],
    )


def move(**fields: Any) -> pb.MoveRequest:
    m = pb.MoveRequest(
        round=5, batch=B, tier=1, tier_firm_ids=[FIRM, "f2"],
        committed=[pb.TierQuantities(tier=0, firm_ids=["lead"], quantities=[40.0, 45.0, 50.0])],
    )
    for k, v in fields.items():
        m.ClearField(k)
        getattr(m, k).extend(v) if isinstance(v, list) else setattr(m, k, v)
    return m


def outcome(**fields: Any) -> pb.Outcome:
    o = pb.Outcome(
        round=5, batch=B, firm_ids=["f1", "f2", "lead"], prices=[1.0] * B, quantities=[2.0] * (3 * B),
        profits=[3.0] * (3 * B), absent=[False] * 3, evicted=[False] * 3,
    )
    for k, v in fields.items():
        o.ClearField(k)
        getattr(o, k).extend(v) if isinstance(v, list) else setattr(o, k, v)
    return o


NAN, INF = float("nan"), float("inf")


def test_move_problem_accepts_a_well_formed_request() -> None:
    assert move_problem(params(), move(), FIRM) is None
    p = params(columns=(pb.DEMAND_SHIFT,), adjustment_cost=0.5, lbd=True)
    good = move(observation=[1.0, -1.0, 0.0], own_last_quantity=[1.0] * (2 * B), own_marginal_cost=[20.0] * (2 * B))
    assert move_problem(p, good, FIRM) is None
    # Per-firm rows a run does not carry may be empty or full (but not half).
    assert move_problem(params(), move(own_last_quantity=[1.0] * (2 * B)), FIRM) is None


@pytest.mark.parametrize(
    ("p", "m", "why"),
    [
        (params(), move(tier_firm_ids=["f2"]), "does not name f1"),
        (params(), move(batch=B + 1), "batch 4, the run's batch is 3"),
        (params(), move(batch=0), "batch 0"),
        (params(), move(observation=[1.0] * B), "3 observation values, want 3 x 0 = 0"),
        (params(columns=(pb.DEMAND_SHIFT,)), move(), "0 observation values, want 3 x 1 = 3"),
        (params(columns=(pb.DEMAND_SHIFT,)), move(observation=[1.0, NAN, 0.0]), "observation[1] = nan is not finite"),
        (params(columns=(pb.DEMAND_SHIFT,)), move(observation=[1.0, 0.0, -INF]), "observation[2] = -inf is not finite"),
        (params(), move(committed=[pb.TierQuantities(tier=0, firm_ids=["lead"], quantities=[1.0, 2.0])]), "holds 2 quantities, want 1 firms x 3 = 3"),
        (params(), move(committed=[pb.TierQuantities(tier=0, firm_ids=["a", "b"], quantities=[1.0] * B)]), "holds 3 quantities, want 2 firms x 3 = 6"),
        (params(), move(committed=[pb.TierQuantities(tier=0, firm_ids=["lead"], quantities=[1.0, NAN, 2.0])]), "committed[0].quantities[1] = nan"),
        (params(), move(committed=[pb.TierQuantities(tier=0, firm_ids=["lead"], quantities=[INF, 1.0, 2.0])]), "committed[0].quantities[0] = inf"),
        (params(adjustment_cost=1.0), move(), "0 own_last_quantity values, want 2 firms x 3 = 6"),
        (params(lbd=True), move(own_marginal_cost=[1.0] * B), "3 own_marginal_cost values, want 2 firms x 3 = 6"),
        (params(), move(own_last_quantity=[1.0] * B), "3 own_last_quantity values"),
        (params(adjustment_cost=1.0), move(own_last_quantity=[1.0] * 5 + [NAN]), "own_last_quantity[5] = nan"),
    ],
)
def test_move_problem_names_what_is_wrong(p: pb.RunParams, m: pb.MoveRequest, why: str) -> None:
    got = move_problem(p, m, FIRM)
    assert got is not None and why in got and got.startswith("round 5: ")


def test_outcome_problem() -> None:
    assert outcome_problem(params(), outcome(), FIRM) is None
    assert outcome_problem(params(), outcome(absent=[], evicted=[]), FIRM) is None
    cases = {
        "batch 2, the run's batch is 3": outcome(batch=2),
        "does not name f1": outcome(firm_ids=["f2", "lead", "x"]),
        "2 prices, want 3": outcome(prices=[1.0, 1.0]),
        "8 quantities, want 9": outcome(quantities=[1.0] * 8),
        "10 profits, want 9": outcome(profits=[1.0] * 10),
        "prices[0] = nan": outcome(prices=[NAN, 1.0, 1.0]),
        "profits[8] = -inf": outcome(profits=[1.0] * 8 + [-INF]),
        "1 absent flags for 3 firms": outcome(absent=[True]),
        "4 evicted flags for 3 firms": outcome(evicted=[False] * 4),
    }
    for why, o in cases.items():
        got = outcome_problem(params(), o, FIRM)
        assert got is not None and why in got, (why, got)


def test_carried_columns_follow_run_params() -> None:
    assert not carries_own_last_quantity(params()) and not carries_own_marginal_cost(params())
    assert carries_own_last_quantity(params(adjustment_cost=0.1))
    assert carries_own_marginal_cost(params(lbd=True))


def test_committed_total_refuses_a_short_or_long_array() -> None:
    assert committed_total(move(), B) == [40.0, 45.0, 50.0]
    two = pb.TierQuantities(tier=0, firm_ids=["a", "b"], quantities=[1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    assert committed_total(move(committed=[two]), B) == [11.0, 22.0, 33.0]
    for q in ([1.0, 2.0], [1.0] * 4):
        with pytest.raises(ValueError, match="committed quantities of tier 0"):
            committed_total(move(committed=[pb.TierQuantities(tier=0, firm_ids=["lead"], quantities=q)]), B)


def test_rate_limited_log_one_line_per_kind_every_interval_with_counts(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    logger = logging.getLogger("test.ratelog")
    rl = RateLimitedLog(logger, interval=5.0, max_keys=3, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="test.ratelog")
    assert rl.warning("a", "event %d", 1)
    assert not rl.warning("a", "event %d", 2)
    assert not rl.warning("a", "event %d", 3)
    assert rl.warning("b", "other %s", "x")  # another kind has its own budget
    now[0] += 4.9
    assert not rl.warning("a", "event %d", 4)
    now[0] += 0.2
    assert rl.warning("a", "event %d", 5)
    assert not rl.warning("a", "event %d", 6)
    # Keys beyond max_keys share one entry: ids chosen by a sender cannot grow the table.
    assert rl.warning("c", "c")
    assert rl.warning("d", "d")
    assert not rl.warning("e", "e")
    rl.flush()
    rl.flush()  # nothing left
    assert [r.getMessage() for r in caplog.records] == [
        "event 1",
        "other x",
        "event 5 (3 more suppressed in the last 5.1 s)",
        "c",
        "d",
        "a: 1 not logged one by one",
        "(other kinds): 1 not logged one by one",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_every_observation_column_of_the_contract_has_a_constant() -> None:
    names = [n for n in pb.ObservationColumn.keys() if n != "OBSERVATION_COLUMN_UNSPECIFIED"]
    assert names and sorted(pb.OBSERVATION_COLUMNS) == sorted(names)
    for name in names:
        assert getattr(pb, name, None) == pb.ObservationColumn.Value(name), f"pb.{name} is missing or wrong"
        assert name in pb.__all__, f"pb.{name} is not exported"
        assert pb.observation_column(name) == pb.ObservationColumn.Value(name)
        assert pb.column_name(pb.observation_column(name)) == name.lower()
    with pytest.raises(KeyError):
        pb.observation_column("NO_SUCH_COLUMN")


def test_env_observation_has_the_per_firm_columns_the_run_carries() -> None:
    np = pytest.importorskip("numpy")
    from stackelberg.envs import obs_columns, observation

    p = params(columns=(pb.DEMAND_SHIFT,), adjustment_cost=0.5, lbd=True)
    assert obs_columns(p) == ["demand_shift", "own_last_quantity", "own_marginal_cost", "committed_total"]
    assert obs_columns(params()) == ["committed_total"]
    assert obs_columns(params(adjustment_cost=1.0)) == ["own_last_quantity", "committed_total"]
    assert obs_columns(params(lbd=True)) == ["own_marginal_cost", "committed_total"]
    m = move(
        observation=[1.0, -1.0, 0.5],
        own_last_quantity=[1.0, 2.0, 3.0, 9.0, 9.0, 9.0],  # f1's row, then f2's
        own_marginal_cost=[30.0, 31.0, 32.0, 8.0, 8.0, 8.0],
    )
    obs = observation(p, m, FIRM)
    np.testing.assert_array_equal(
        obs, [[1.0, 1.0, 30.0, 40.0], [-1.0, 2.0, 31.0, 45.0], [0.5, 3.0, 32.0, 50.0]]
    )
    np.testing.assert_array_equal(observation(p, m, "f2")[:, 1:3], [[9.0, 8.0]] * 3)
    with pytest.raises(ValueError, match="needs firm_id"):
        observation(p, m)  # two firms in the tier: whose row?
    with pytest.raises(ValueError, match="not finite"):
        observation(p, move(observation=[1.0, math.nan, 0.5], own_last_quantity=[0.0] * 6, own_marginal_cost=[1.0] * 6), FIRM)
    # Without per-firm columns the firm id is not needed.
    np.testing.assert_array_equal(observation(params(), move()), [[40.0], [45.0], [50.0]])
