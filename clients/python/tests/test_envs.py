"""stackelberg.envs against a live run: nats-server with `stackelberg auth` credentials, the
TypeScript market (and, for FirmEnv, the TypeScript firm it plays against: the leader, or the
follower when the environment is the leader), the Python firm(s) as environments. Also the end of
a run (END_OF_RUN at the last round and mid-episode) and a step slower than the deadline."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import api_test  # noqa: E402

from stackelberg.envs import FirmEnv, FirmSpec, MarketAECEnv, RunEnded  # noqa: E402

from conftest import REPO, free_port, nats_server_binary, wait_for_port  # noqa: E402

CLI = REPO / "dist" / "services" / "cli" / "main.js"
A, B_SLOPE, C = 100.0, 1.0, 10.0
BATCH = 4
LEADER_Q = 45.0


#: The follower's cost in the run with per-firm observation columns (learning by doing).
C0, C_MIN, LBD_RATE = 40.0, 10.0, 0.01


def experiment(name: str, rounds: int, *, episodes: int = 2000, deadline_ms: int = 5000, costs: bool = False) -> str:
    """The test market; the TS leader plays 45, the TS follower its best response (when started).
    With ``costs``, an adjustment cost and a learning-by-doing follower: the move requests carry
    ``own_last_quantity`` and ``own_marginal_cost``."""
    dynamics = "\n  dynamics: { adjustmentCost: 0.5 }" if costs else ""
    follower_cost = (
        f"{{ kind: learning-by-doing, c0: {C0:g}, cMin: {C_MIN:g}, rate: {LBD_RATE:g} }}" if costs else f"{{ kind: linear, c: {C:g} }}"
    )
    return f"""name: {name}
seed: 7
market:
  demand: {{ kind: linear, a: {A:g}, b: {B_SLOPE:g} }}
  batch: {BATCH}
  roundsPerEpisode: {rounds}
  episodes: {episodes}
  quantityMax: 100
  deadlineMs: {deadline_ms}
  defaultAction: zero
  maxMisses: 3{dynamics}
firms:
  - id: leader
    role: leader
    cost: {{ kind: linear, c: {C:g} }}
    policy: {{ kind: fixed, quantity: {LEADER_Q:g} }}
  - id: follower
    role: follower
    cost: {follower_cost}
    policy: {{ kind: best-response }}
"""


@dataclass
class LiveRun:
    url: str
    run: str
    auth: Path
    #: The market process (tests stop it to end the run early).
    market: subprocess.Popen[bytes]

    def creds(self, firm: str) -> str:
        return str(self.auth / f"firm-{firm}.nk")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _live_run(
    tmp_path: Path, rounds: int, ts_firm: Optional[str], *, episodes: int = 2000, deadline_ms: int = 5000, costs: bool = False
) -> Iterator[LiveRun]:
    """nats-server with the run's credentials, the TS market and, if ``ts_firm`` names one, that TS
    firm; the other firms are the test's to play."""
    if not CLI.exists():
        pytest.skip(f"{CLI} is missing: build the TypeScript side first (npm run build)")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    server = nats_server_binary()
    if server is None:
        pytest.skip("no nats-server binary (.tools/bin/nats-server, /usr/sbin/nats-server, $NATS_SERVER)")
    run = f"env{rounds}{ts_firm or 'py'}"
    exp = tmp_path / "exp.yaml"
    exp.write_text(experiment(run, rounds, episodes=episodes, deadline_ms=deadline_ms, costs=costs))
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    auth = tmp_path / "auth"
    subprocess.run(
        [node, str(CLI), "auth", str(exp), "--out", str(auth), "--run", run, "--listen", f"127.0.0.1:{port}"],
        check=True, capture_output=True, cwd=REPO, timeout=60,
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        procs.append(subprocess.Popen([server, "-c", str(auth / "server.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(port, procs[0])
        cmds = [[node, str(CLI), "market", "--config", str(exp), "--nats", url, "--run", run, "--creds", str(auth / "market.nk")]]
        if ts_firm is not None:
            cmds.append([node, str(CLI), "firm", "--config", str(exp), "--nats", url, "--run", run, "--firm", ts_firm, "--creds", str(auth / f"firm-{ts_firm}.nk")])
        for i, cmd in enumerate(cmds):
            log = open(tmp_path / f"proc{i}.log", "wb")
            logs.append(log)
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, "CI": "true"}))
        yield LiveRun(url, run, auth, procs[1])
    finally:
        _stop(procs)
        for log in logs:
            log.close()


@pytest.fixture
def run_with_ts_leader(tmp_path: Path) -> Iterator[LiveRun]:
    """One-round episodes, no shocks; the TS market and a TS leader playing 45: the follower's
    observation is deterministic (committed_total = 45 in every instance)."""
    yield from _live_run(tmp_path, rounds=1, ts_firm="leader")


@pytest.fixture
def run_with_costs(tmp_path: Path) -> Iterator[LiveRun]:
    """Two-round episodes with an adjustment cost and a learning-by-doing follower; TS leader at 45."""
    yield from _live_run(tmp_path, rounds=2, ts_firm="leader", costs=True)


@pytest.fixture
def run_for_aec(tmp_path: Path) -> Iterator[LiveRun]:
    """Two-round episodes; only the TS market: both firms are played from Python."""
    yield from _live_run(tmp_path, rounds=2, ts_firm=None)


@pytest.fixture
def run_with_ts_follower(tmp_path: Path) -> Iterator[LiveRun]:
    """One-round episodes; the TS market and a TS best-response follower: the Python leader's
    profit is (A - C - B q) q / 2 in every instance."""
    yield from _live_run(tmp_path, rounds=1, ts_firm="follower")


@pytest.fixture
def short_run_with_ts_leader(tmp_path: Path) -> Iterator[LiveRun]:
    """Two episodes of two rounds, then END_OF_RUN."""
    yield from _live_run(tmp_path, rounds=2, ts_firm="leader", episodes=2)


@pytest.fixture
def short_run_for_aec(tmp_path: Path) -> Iterator[LiveRun]:
    """Two episodes of two rounds, then END_OF_RUN; both firms played from Python."""
    yield from _live_run(tmp_path, rounds=2, ts_firm=None, episodes=2)


@pytest.fixture
def long_run_with_ts_leader(tmp_path: Path) -> Iterator[LiveRun]:
    """Two-round episodes, more than a test plays (the test stops the market mid-episode)."""
    yield from _live_run(tmp_path, rounds=2, ts_firm="leader")


#: Deadline of the LATE tests: a step sleeping LATE_SLEEP s misses it, the next move is still open.
LATE_DEADLINE_MS, LATE_SLEEP = 1500, 2.0


@pytest.fixture
def late_run_with_ts_leader(tmp_path: Path) -> Iterator[LiveRun]:
    yield from _live_run(tmp_path, rounds=1, ts_firm="leader", deadline_ms=LATE_DEADLINE_MS)


@pytest.fixture
def late_run_for_aec(tmp_path: Path) -> Iterator[LiveRun]:
    yield from _live_run(tmp_path, rounds=1, ts_firm=None, deadline_ms=LATE_DEADLINE_MS)


def br(S: np.ndarray) -> np.ndarray:
    return np.clip((A - C - B_SLOPE * S) / (2 * B_SLOPE), 0, 100)


def follower_profit(S: np.ndarray, q: np.ndarray) -> np.ndarray:
    price = np.maximum(A - B_SLOPE * (S + q), 0.0)
    return (price - C) * q


def test_firm_env_check_env_and_best_response(run_with_ts_leader: LiveRun) -> None:
    r = run_with_ts_leader
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=str(r.auth / "firm-follower.nk"), timeout=30)
    try:
        assert env.columns == ["committed_total"]
        assert env.observation_space.shape == (BATCH, 1)
        assert env.action_space.shape == (BATCH,)
        check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)

        obs, info = env.reset(seed=1)
        assert np.array_equal(obs[:, 0], np.full(BATCH, LEADER_Q))
        for _ in range(20):
            S = obs[:, 0]
            q = br(S)
            obs2, reward, terminated, truncated, info = env.step(q)
            assert terminated and not truncated
            assert not info["absent"]
            np.testing.assert_allclose(info["quantities"], q)
            np.testing.assert_allclose(info["profits"], follower_profit(S, q))
            assert reward == pytest.approx(float(follower_profit(S, q).mean()))
            assert reward == pytest.approx(506.25)  # leader 45, follower 22.5: (32.5 - 10) * 22.5
            obs, _ = env.reset()
    finally:
        env.close()
    env.close()  # idempotent


def test_firm_env_observes_own_last_quantity_and_marginal_cost(run_with_costs: LiveRun) -> None:
    """In a run with an adjustment cost and learning by doing, the observation carries the firm's
    own last quantity and marginal cost (its reward depends on them), and info names the phase."""
    r = run_with_costs
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=r.creds("follower"), timeout=30)
    try:
        assert env.columns[-3:] == ["own_last_quantity", "own_marginal_cost", "committed_total"]
        assert env.observation_space.shape == (BATCH, len(env.columns))
        check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
        last, mc = env.columns.index("own_last_quantity"), env.columns.index("own_marginal_cost")
        for _ in range(2):
            obs, info = env.reset(seed=1)
            assert isinstance(info["phase"], str)
            np.testing.assert_array_equal(obs[:, last], np.zeros(BATCH))  # an episode's start
            np.testing.assert_allclose(obs[:, mc], np.full(BATCH, C0))  # no output yet this episode
            np.testing.assert_array_equal(obs[:, -1], np.full(BATCH, LEADER_Q))
            q = np.array([10.0, 20.0, 30.0, 40.0])
            obs, reward, terminated, _, info = env.step(q)
            assert not terminated and isinstance(info["phase"], str)
            np.testing.assert_allclose(obs[:, last], q)  # what it played in the episode's previous round
            # Learning by doing: more output so far, lower marginal cost (from c0 towards c_min).
            assert np.all(obs[:, mc] < C0) and np.all(obs[:, mc] >= C_MIN)
            assert np.all(np.diff(obs[:, mc]) < 0)
            obs, reward, terminated, _, info = env.step(q)
            assert terminated and np.isfinite(reward)
    finally:
        env.close()


def test_aec_env_api_test_and_play(run_for_aec: LiveRun) -> None:
    r = run_for_aec
    firms = [
        FirmSpec("follower", 1, str(r.auth / "firm-follower.nk")),
        FirmSpec("leader", 0, str(r.auth / "firm-leader.nk")),
    ]
    env = MarketAECEnv(r.url, r.run, firms, timeout=30)
    try:
        assert env.possible_agents == ["leader", "follower"]
        api_test(env, num_cycles=6)

        # Short play: the leader plays 45, the follower best-responds to what it observes.
        env.reset(seed=3)
        rounds = 0
        seen_S = []
        for agent in env.agent_iter(max_iter=100):
            obs, reward, terminated, truncated, info = env.last()
            if terminated or truncated:
                env.step(None)
                continue
            if agent == "leader":
                env.step(np.full(BATCH, LEADER_Q))
            else:
                S = obs[:, -1]
                seen_S.append(S.copy())
                env.step(br(S))
                rounds += 1
                np.testing.assert_allclose(env.rewards["follower"], 506.25)
                np.testing.assert_allclose(env.rewards["leader"], (32.5 - 10) * 45)
        assert rounds == 2  # one episode of two rounds, then every agent terminated
        for S in seen_S:
            np.testing.assert_array_equal(S, np.full(BATCH, LEADER_Q))
        # Observation columns of a two-round run: last price etc., then committed_total.
        assert env.columns[-1] == "committed_total"
        assert len(env.columns) >= 2
    finally:
        env.close()


def test_firm_env_as_leader_against_ts_follower(run_with_ts_follower: LiveRun) -> None:
    r = run_with_ts_follower
    env = FirmEnv(r.url, r.run, "leader", "leader", 0, creds=r.creds("leader"), timeout=30)
    try:
        assert env.columns == ["committed_total"]
        check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
        obs, _ = env.reset(seed=2)
        np.testing.assert_array_equal(obs, np.zeros((BATCH, 1)))  # no earlier tier: committed_total 0
        for q in ([30.0, 40.0, 45.0, 60.0], [45.0] * BATCH, [0.0, 10.0, 90.0, 100.0]):
            a = np.asarray(q)
            obs, reward, terminated, truncated, info = env.step(a)
            assert terminated and not truncated and not info["absent"]
            np.testing.assert_allclose(info["quantities"], a)
            # The TS follower answers q_f = (A - C - B q) / (2 B): the leader earns (A - C - B q) q / 2.
            want = follower_profit(br(a), a)
            np.testing.assert_allclose(info["profits"], want, rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(info["prices"], A - B_SLOPE * (a + br(a)))
            assert reward == pytest.approx(float(want.mean()))
            np.testing.assert_array_equal(obs, np.zeros((BATCH, 1)))
            obs, _ = env.reset()
        obs, reward, *_ = env.step(np.full(BATCH, 45.0))
        assert reward == pytest.approx(1012.5)  # the Stackelberg leader's profit
    finally:
        env.close()


def test_firm_env_end_of_run_ends_the_last_episode_then_raises_run_ended(short_run_with_ts_leader: LiveRun) -> None:
    r = short_run_with_ts_leader
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=r.creds("follower"), timeout=30)
    try:
        for _ in range(2):
            obs, _ = env.reset()
            obs, reward, terminated, truncated, info = env.step(br(obs[:, -1]))
            assert (terminated, truncated) == (False, False)
            obs, reward, terminated, truncated, info = env.step(br(obs[:, -1]))
            assert (terminated, truncated) == (True, False)  # the run's last round ends its episode
            assert reward == pytest.approx(506.25)
        with pytest.raises(RunEnded, match="all rounds cleared"):
            env.reset()
        with pytest.raises(RunEnded):  # and keeps saying so
            env.step(np.zeros(BATCH))
        with pytest.raises(RunEnded):
            env.reset()
    finally:
        env.close()


def test_firm_env_end_of_run_mid_episode_raises_run_ended(long_run_with_ts_leader: LiveRun) -> None:
    r = long_run_with_ts_leader
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=r.creds("follower"), timeout=30)
    try:
        obs, _ = env.reset()
        obs, _, terminated, _, _ = env.step(br(obs[:, -1]))
        assert not terminated
        r.market.terminate()  # the market ends the run (END_OF_RUN) at the next round's move
        r.market.wait(10)
        with pytest.raises(RunEnded, match="stopped"):
            env.step(br(obs[:, -1]))
        with pytest.raises(RunEnded):
            env.step(br(obs[:, -1]))
        with pytest.raises(RunEnded):
            env.reset()
    finally:
        env.close()


def _aec_firms(r: LiveRun) -> list[FirmSpec]:
    return [FirmSpec("leader", 0, r.creds("leader")), FirmSpec("follower", 1, r.creds("follower"))]


def _play_aec_episode(env: MarketAECEnv) -> list[float]:
    """One episode, the leader at 45 and the follower's best response; returns the follower's rewards."""
    rewards: list[float] = []
    for agent in env.agent_iter(max_iter=100):
        obs, reward, terminated, truncated, info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        if agent == "leader":
            env.step(np.full(BATCH, LEADER_Q))
        else:
            env.step(br(obs[:, -1]))
            rewards.append(env.rewards["follower"])
    return rewards


def test_firm_env_late_step_gets_the_default_action_and_is_absent(late_run_with_ts_leader: LiveRun) -> None:
    r = late_run_with_ts_leader
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=r.creds("follower"), timeout=30)
    try:
        obs, _ = env.reset()
        time.sleep(LATE_SLEEP)  # past the deadline: the market clears with the default action (zero)
        obs, reward, terminated, truncated, info = env.step(br(obs[:, -1]))
        assert info["absent"] and terminated and not truncated
        np.testing.assert_array_equal(info["quantities"], np.zeros(BATCH))
        assert reward == 0.0
    finally:
        env.close()


def test_firm_env_carries_on_after_a_late_step(late_run_with_ts_leader: LiveRun) -> None:
    r = late_run_with_ts_leader
    env = FirmEnv(r.url, r.run, "follower", "follower", 1, creds=r.creds("follower"), timeout=30)
    try:
        obs, _ = env.reset()
        time.sleep(LATE_SLEEP)
        _, _, _, _, info = env.step(br(obs[:, -1]))
        assert info["absent"]
        present = 0
        rejects: list[str] = list(info["rejects"])
        for _ in range(5):
            obs, _ = env.reset()
            _, reward, _, _, info = env.step(br(obs[:, -1]))
            present += not info["absent"]
            rejects += info["rejects"]
        assert present >= 4
        # The late submission's LATE reached the caller as information, not as an exception.
        assert any(r.startswith("LATE: ") for r in rejects), rejects
    finally:
        env.close()


def test_aec_env_end_of_run_terminates_every_agent_then_reset_raises(short_run_for_aec: LiveRun) -> None:
    r = short_run_for_aec
    env = MarketAECEnv(r.url, r.run, _aec_firms(r), timeout=30)
    try:
        for _ in range(2):
            env.reset()
            assert _play_aec_episode(env) == pytest.approx([506.25, 506.25])
            assert env.agents == []  # every agent terminated at the episode's (and the run's) last round
        with pytest.raises(RunEnded, match="all rounds cleared"):
            env.reset()
        with pytest.raises(RunEnded):
            env.reset()
    finally:
        env.close()


def test_aec_env_end_of_run_mid_episode_raises_run_ended(run_for_aec: LiveRun) -> None:
    r = run_for_aec
    env = MarketAECEnv(r.url, r.run, _aec_firms(r), timeout=30)
    try:
        env.reset()
        env.step(np.full(BATCH, LEADER_Q))
        env.step(br(env.observe("follower")[:, -1]))  # round 0 cleared, the leader's next move read
        assert env.agent_selection == "leader" and env.agents == ["leader", "follower"]
        r.market.terminate()
        r.market.wait(10)
        with pytest.raises(RunEnded, match="stopped"):
            env.step(np.full(BATCH, LEADER_Q))
        with pytest.raises(RunEnded):
            env.step(np.full(BATCH, LEADER_Q))
        with pytest.raises(RunEnded):
            env.reset()
    finally:
        env.close()


def test_aec_env_late_leader_gets_the_default_action_and_is_absent(late_run_for_aec: LiveRun) -> None:
    r = late_run_for_aec
    env = MarketAECEnv(r.url, r.run, _aec_firms(r), timeout=30)
    try:
        env.reset()
        time.sleep(LATE_SLEEP)  # the leader misses its deadline: the market plays zero for it
        env.step(np.full(BATCH, LEADER_Q))
        assert env.agent_selection == "follower"
        S = env.observe("follower")[:, -1]
        np.testing.assert_array_equal(S, np.zeros(BATCH))  # the follower sees the default action
        env.step(br(S))
        assert env.infos["leader"]["absent"] and not env.infos["follower"]["absent"]
        np.testing.assert_array_equal(env.infos["leader"]["quantities"], np.zeros(BATCH))
        assert env.rewards["leader"] == 0.0
        assert env.rewards["follower"] == pytest.approx(float(follower_profit(S, br(S)).mean()))
        assert all(env.terminations.values())  # one-round episodes
    finally:
        env.close()


def test_aec_env_carries_on_after_a_late_step(late_run_for_aec: LiveRun) -> None:
    r = late_run_for_aec
    env = MarketAECEnv(r.url, r.run, _aec_firms(r), timeout=30)
    try:
        env.reset()
        time.sleep(LATE_SLEEP)
        env.step(np.full(BATCH, LEADER_Q))
        env.step(br(env.observe("follower")[:, -1]))
        assert env.infos["leader"]["absent"]
        for _ in range(3):
            env.reset()
            assert _play_aec_episode(env) == pytest.approx([506.25])
    finally:
        env.close()
