"""The numpy learning follower (stackelberg.examples.learning_follower): the learner alone on a
simulated market (no bus), and the script's phase handling against the fake market of test_client."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

pytest.importorskip("gymnasium")  # stackelberg.envs (the observation helpers) needs the envs extra

from stackelberg import pb  # noqa: E402
from stackelberg.examples import learning_follower as lf  # noqa: E402
from stackelberg.examples.learning_follower import GaussianLearner, LearnerConfig  # noqa: E402

from test_client import FIRM, RUN, FakeMarket, market  # noqa: E402,F401  (the fixture)

# A market the learner does not know: P = a - b Q, its cost c; the leaders' total S is its observation.
A, B_SLOPE, C, QMAX = 120.0, 1.5, 9.0, 120.0


def profit(S: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (np.maximum(A - B_SLOPE * (S + q), 0.0) - C) * q


def reaction(S: np.ndarray) -> np.ndarray:
    """The best response, used only to check what was learned."""
    return np.clip((A - C - B_SLOPE * S) / (2 * B_SLOPE), 0.0, QMAX)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learner_learns_the_reaction_function_from_profits(seed: int) -> None:
    learner = GaussianLearner(1, QMAX, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    S_eq = (A - C) / (2 * B_SLOPE)  # the Stackelberg leader's quantity: 37
    first_error = abs(float(learner.greedy(np.array([[S_eq]]))[0]) - float(reaction(np.array([S_eq]))[0]))
    for _ in range(80):
        S = rng.uniform(0.0, QMAX, (256, 1))  # a leader exploring its whole range, as in the follower phase
        q, samples = learner.sample(S)
        assert np.all((q >= 0) & (q <= QMAX))
        assert learner.update(S, samples, profit(S[:, 0], q))
    assert learner.trained_rounds == learner.updates == 80  # B = 256: a step per round
    assert learner.sigma == pytest.approx(LearnerConfig().sigma_min * QMAX)
    S_grid = np.linspace(0.0, 70.0, 15)[:, None]  # where the reaction is interior
    np.testing.assert_allclose(learner.greedy(S_grid), reaction(S_grid[:, 0]), atol=0.01)
    q_eq = float(learner.greedy(np.array([[S_eq]]))[0])
    assert first_error > 5.0
    assert q_eq == pytest.approx(float(reaction(np.array([S_eq]))[0]), rel=1e-3)


def test_learner_gathers_small_rounds_into_one_step() -> None:
    learner = GaussianLearner(1, QMAX, LearnerConfig(min_batch=64), seed=4)
    rng = np.random.default_rng(7)
    stepped = []
    for _ in range(600):
        S = rng.uniform(0.0, QMAX, (16, 1))  # B = 16: several rounds make one step
        q, samples = learner.sample(S)
        stepped.append(learner.update(S, samples, profit(S[:, 0], q)))
    assert not any(stepped[:3]) and learner.updates >= 80
    assert learner.trained_rounds == 600
    S_eq = (A - C) / (2 * B_SLOPE)
    assert float(learner.greedy(np.array([[S_eq]]))[0]) == pytest.approx(float(reaction(np.array([S_eq]))[0]), rel=1e-3)


def test_learner_is_seeded_and_greedy_is_deterministic() -> None:
    S = np.full((64, 1), 40.0)
    a, b = GaussianLearner(1, QMAX, seed=5), GaussianLearner(1, QMAX, seed=5)
    np.testing.assert_array_equal(a.sample(S)[1], b.sample(S)[1])
    g = a.greedy(S)
    np.testing.assert_array_equal(g, a.greedy(S))
    assert np.all(g == g[0]) and g[0] == pytest.approx(LearnerConfig().init_mean * QMAX)
    _, samples = a.sample(np.full((4096, 1), 40.0))
    assert float(np.std(samples)) == pytest.approx(a.sigma, rel=0.05)


def test_learner_skips_rounds_without_usable_samples() -> None:
    learner = GaussianLearner(1, QMAX, seed=0)
    theta = learner.theta.copy()
    S = np.full((64, 1), 40.0)
    clipped = np.full(64, -1.0)  # every sample below 0: clipped, its profit carries no slope
    assert not learner.update(S, clipped, profit(S[:, 0], np.zeros(64)))
    np.testing.assert_array_equal(learner.theta, theta)
    assert learner.trained_rounds == learner.updates == 0


def test_learner_config_is_validated() -> None:
    with pytest.raises(ValueError, match="lr must be > 0"):
        LearnerConfig(lr=0)
    with pytest.raises(ValueError, match="sigma_min must be <= sigma0"):
        LearnerConfig(sigma0=0.01, sigma_min=0.1)
    with pytest.raises(ValueError, match="min_batch"):
        LearnerConfig(min_batch=0)
    with pytest.raises(ValueError, match="columns"):
        GaussianLearner(0, QMAX)


async def test_script_follows_the_training_phases(market: FakeMarket) -> None:
    """Samples while its phase trains it, plays its mean while frozen, and a move request that
    names a phase not announced yet waits for the announcement (different subjects: no order)."""
    market.params.deadline_ms = 20000  # a held move waits up to 0.5 s for its PHASE_CHANGE
    args = lf._args(["--nats", market.url, "--run", RUN, "--firm", FIRM, "--seed", "3", "--register-timeout", "5"])
    task = asyncio.create_task(lf.run(args))
    try:
        await asyncio.wait_for(market.ready.wait(), 10)
        greedy = LearnerConfig().init_mean * 100.0  # the fake market's quantity_max is 100

        async def move(rnd: int, phase: str) -> None:
            await market.publish("move.1", pb.MoveRequest(
                run_id=RUN, round=rnd, tier=1, batch=2, tier_firm_ids=[FIRM], phase=phase,
                committed=[pb.TierQuantities(tier=0, firm_ids=["leader"], quantities=[45.0, 30.0])],
            ))

        async def phase_change(rnd: int, name: str, training: list[str]) -> None:
            await market.publish("control", pb.RunControl(
                run_id=RUN, kind=pb.ControlKind.Value("PHASE_CHANGE"), round=rnd, phase=name, training_firm_ids=training,
            ))

        await phase_change(0, "train-followers", [FIRM])
        await move(0, "train-followers")
        sub = await asyncio.wait_for(market.submissions.get(), 5)
        assert sub.round == 0 and list(sub.quantities) != pytest.approx([greedy, greedy])  # exploring noise
        await market.publish("outcome", pb.Outcome(
            run_id=RUN, round=0, batch=2, firm_ids=[FIRM, "leader"], prices=[1.0, 1.0],
            quantities=[*sub.quantities, 45.0, 30.0], profits=[1.0, 2.0, 3.0, 4.0],
        ))
        await move(1, "train-leaders")  # before its PHASE_CHANGE: held
        await asyncio.sleep(0.1)
        assert market.submissions.empty()
        await phase_change(1, "train-leaders", ["leader"])
        sub = await asyncio.wait_for(market.submissions.get(), 5)
        assert sub.round == 1 and list(sub.quantities) == pytest.approx([greedy, greedy])  # frozen: its mean
        await market.end()
        assert await asyncio.wait_for(task, 5) == 0
    finally:
        task.cancel()


async def test_script_reports_one_json_line(market: FakeMarket, capsys: pytest.CaptureFixture[str]) -> None:
    args = lf._args(["--nats", market.url, "--run", RUN, "--firm", FIRM, "--seed", "3", "--register-timeout", "5"])
    task = asyncio.create_task(lf.run(args))
    await asyncio.wait_for(market.ready.wait(), 10)
    await market.end()
    assert await asyncio.wait_for(task, 5) == 0
    out = capsys.readouterr().out.strip().split("\n")
    assert out[0].startswith("learning_follower: end of run (done): 0 rounds")
    r = json.loads(out[-1])
    assert (r["firm"], r["seed"], r["rounds"], r["trained_rounds"]) == (FIRM, 3, 0, 0)


def test_sb3_example_imports_without_sb3_and_says_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    from stackelberg.examples import sb3_follower

    if importlib.util.find_spec("stable_baselines3") is not None:
        pytest.skip("Stable-Baselines3 is installed here")
    args = sb3_follower._args(["--nats", "nats://127.0.0.1:1", "--run", RUN, "--firm", FIRM, "--train-rounds", "10"])
    assert sb3_follower.run(args) == 2
    assert "needs Stable-Baselines3 (pip install stable-baselines3)" in capsys.readouterr().err
