"""stackelberg.envs against a live run: nats-server with `stackelberg auth` credentials, the
TypeScript market (and, for FirmEnv, the TypeScript leader), the Python firm(s) as environments."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import api_test  # noqa: E402

from stackelberg.envs import FirmEnv, FirmSpec, MarketAECEnv  # noqa: E402

from conftest import REPO, free_port, nats_server_binary, wait_for_port  # noqa: E402

CLI = REPO / "dist" / "services" / "cli" / "main.js"
A, B_SLOPE, C = 100.0, 1.0, 10.0
BATCH = 4
LEADER_Q = 45.0


def experiment(name: str, rounds: int, leader_policy: str) -> str:
    return f"""name: {name}
seed: 7
market:
  demand: {{ kind: linear, a: {A:g}, b: {B_SLOPE:g} }}
  batch: {BATCH}
  roundsPerEpisode: {rounds}
  episodes: 2000
  quantityMax: 100
  deadlineMs: 5000
firms:
  - id: leader
    role: leader
    cost: {{ kind: linear, c: {C:g} }}
    policy: {leader_policy}
  - id: follower
    role: follower
    cost: {{ kind: linear, c: {C:g} }}
    policy: {{ kind: fixed, quantity: 1 }}
"""


@dataclass
class LiveRun:
    url: str
    run: str
    auth: Path


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


def _live_run(tmp_path: Path, rounds: int, ts_leader: bool) -> Iterator[LiveRun]:
    if not CLI.exists():
        pytest.skip(f"{CLI} is missing: build the TypeScript side first (npm run build)")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    server = nats_server_binary()
    if server is None:
        pytest.skip("no nats-server binary (.tools/bin/nats-server, /usr/sbin/nats-server, $NATS_SERVER)")
    run = f"env{rounds}{'ts' if ts_leader else 'py'}"
    policy = f"{{ kind: fixed, quantity: {LEADER_Q:g} }}"
    exp = tmp_path / "exp.yaml"
    exp.write_text(experiment(run, rounds, policy))
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
        if ts_leader:
            cmds.append([node, str(CLI), "firm", "--config", str(exp), "--nats", url, "--run", run, "--firm", "leader", "--creds", str(auth / "firm-leader.nk")])
        for i, cmd in enumerate(cmds):
            log = open(tmp_path / f"proc{i}.log", "wb")
            logs.append(log)
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, "CI": "true"}))
        yield LiveRun(url, run, auth)
    finally:
        _stop(procs)
        for log in logs:
            log.close()


@pytest.fixture
def run_with_ts_leader(tmp_path: Path) -> Iterator[LiveRun]:
    """One-round episodes, no shocks; the TS market and a TS leader playing 45: the follower's
    observation is deterministic (committed_total = 45 in every instance)."""
    yield from _live_run(tmp_path, rounds=1, ts_leader=True)


@pytest.fixture
def run_for_aec(tmp_path: Path) -> Iterator[LiveRun]:
    """Two-round episodes; only the TS market: both firms are played from Python."""
    yield from _live_run(tmp_path, rounds=2, ts_leader=False)


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
