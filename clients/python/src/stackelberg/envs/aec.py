"""A PettingZoo AEC environment: several firms of one live run played from one Python process."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from .. import pb
from ..client import FirmClient, StackelbergError
from ._core import LoopThread, Obs, Seat, obs_columns, observation, outcome_info, own_row

__all__ = ["FirmSpec", "MarketAECEnv"]



@dataclass(frozen=True)
class FirmSpec:
    """A firm the environment plays: its id, its tier (0: leader) and its credentials file."""

    firm_id: str
    tier: int
    creds: Optional[str] = None


class MarketAECEnv(AECEnv[str, Obs, Optional[Obs]]):  # type: ignore[misc]  # pettingzoo ships no types
    """Several firms of one live run as a PettingZoo :class:`~pettingzoo.AECEnv`.

    The agents are the firms given, in tier order (leaders first, then each follower tier; by id
    within a tier): that is the order in which the market asks them to move, and a follower's
    observation carries the quantities its leaders just committed (honest Stackelberg order). Every
    firm connects with its own credentials; other firms of the run may be remote (the market does
    not care who plays a firm). Each agent's observation, action and reward are those of
    :class:`~stackelberg.envs.FirmEnv`: ``(B, k)`` float64 (RunParams.observation_columns, then
    ``own_last_quantity`` and ``own_marginal_cost`` in the runs that carry them, then
    ``committed_total``; :attr:`columns`), ``B`` quantities in ``[0, quantity_max]``, mean (or
    ``reward="sum"``) profit over the instances, given to every agent when the round clears (after
    the last agent moved). Every agent terminates at the end of an episode. :meth:`reset` returns
    to the first round of an episode, finishing a started one with zero quantities.
    ``observe(agent)`` is the agent's latest move request (before its first: zeros).
    ``infos[agent]`` holds the round's outcome as FirmEnv's ``info`` does (``prices``,
    ``quantities``, ``profits``, ``absent``, ``rejects``) and ``phase``: the training phase named by
    the agent's latest move request ("" before its first, or in a run without phases).
    """

    metadata: dict[str, Any] = {"render_modes": [], "name": "stackelberg_market_v0", "is_parallelizable": False}

    def __init__(
        self,
        url: str,
        run: str,
        firms: Sequence[FirmSpec],
        *,
        tls: Optional[ssl.SSLContext] = None,
        timeout: float = 60.0,
        reward: str = "mean",
        register_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        if reward not in ("mean", "sum"):
            raise ValueError("reward must be 'mean' or 'sum'")
        if not firms:
            raise ValueError("no firms to play")
        self._reward = reward
        ordered = sorted(firms, key=lambda f: (f.tier, f.firm_id))
        self._lt = LoopThread(f"stackelberg-aec-{run}")
        self._closed = False
        self._seats: dict[str, Seat] = {}
        for f in ordered:
            role = "leader" if f.tier == 0 else "follower"
            client = FirmClient(url, run, f.firm_id, role, f.tier, creds=f.creds, tls=tls, register_timeout=register_timeout)
            self._seats[f.firm_id] = Seat(client, timeout)
        try:
            self.params: pb.RunParams = self._lt.call(self._start())
        except BaseException:
            self.close()
            raise
        self.possible_agents = [f.firm_id for f in ordered]
        self.agents: list[str] = []
        B = int(self.params.batch)
        self.columns = obs_columns(self.params)
        self.observation_spaces = {
            a: spaces.Box(-np.inf, np.inf, shape=(B, len(self.columns)), dtype=np.float64) for a in self.possible_agents
        }
        self.action_spaces = {
            a: spaces.Box(0.0, float(self.params.quantity_max), shape=(B,), dtype=np.float64) for a in self.possible_agents
        }
        self._obs: dict[str, Obs] = {a: np.zeros((B, len(self.columns))) for a in self.possible_agents}
        #: MoveRequest.phase of each agent's latest move request.
        self._phase: dict[str, str] = {a: "" for a in self.possible_agents}
        self._pos = 0  # index in possible_agents of the next firm to move in the current round
        self.last_outcome: Optional[pb.Outcome] = None
        self.rewards: dict[str, float] = {}
        self._cumulative_rewards: dict[str, float] = {}
        self.terminations: dict[str, bool] = {}
        self.truncations: dict[str, bool] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self.agent_selection = self.possible_agents[0]

    async def _start(self) -> pb.RunParams:
        params: Optional[pb.RunParams] = None
        for s in self._seats.values():
            params = await s.start(preparing_only=True)
        for s in self._seats.values():
            await s.ready()
        assert params is not None
        return params

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self.action_spaces[agent]

    def observe(self, agent: str) -> Obs:
        return self._obs[agent].copy()

    # -- driving the run ---------------------------------------------------------------------

    async def _move_of(self, agent: str) -> pb.MoveRequest:
        m = await self._seats[agent].next_move()
        self._obs[agent] = observation(self.params, m, agent)
        self._phase[agent] = m.phase
        if agent in self.infos:
            self.infos[agent]["phase"] = m.phase
        return m

    async def _submit(self, agent: str, q: list[float]) -> Optional[pb.Outcome]:
        """Submits for ``agent``; at the round's last agent, returns the round's Outcome."""
        seat = self._seats[agent]
        r = await seat.submit(q)
        self._pos += 1
        if self._pos < len(self.possible_agents):
            await self._move_of(self.possible_agents[self._pos])
            return None
        self._pos = 0
        o = await seat.outcome(r)
        for s in self._seats.values():  # the others saw the same outcome
            s.outcomes.pop(r, None)
        self.last_outcome = o
        return o

    async def _episode_start(self) -> None:
        zeros = [0.0] * int(self.params.batch)
        while True:
            if self._pos == 0:
                m = await self._move_of(self.possible_agents[0])
                if m.step == 0:
                    return
            await self._move_of(self.possible_agents[self._pos])
            await self._submit(self.possible_agents[self._pos], zeros)

    def reset(self, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None) -> None:
        if seed is not None:
            for a in self.possible_agents:
                self.action_spaces[a].seed(seed)
        self._lt.play(self._episode_start())
        self.agents = self.possible_agents[:]
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {"phase": self._phase[a]} for a in self.agents}
        self.agent_selection = self.agents[0]

    def step(self, action: Optional[Obs]) -> None:
        agent = self.agent_selection
        if self.terminations.get(agent) or self.truncations.get(agent):
            self._was_dead_step(action)
            return
        if action is None:
            raise ValueError(f"{agent}: a live agent needs B quantities, got None")
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), 0.0, float(self.params.quantity_max))
        if a.shape != (int(self.params.batch),) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be {self.params.batch} finite quantities, got shape {np.shape(action)}")
        self._cumulative_rewards[agent] = 0.0
        o = self._lt.play(self._submit(agent, [float(x) for x in a]))
        self.rewards = {x: 0.0 for x in self.agents}
        if o is None:
            self.agent_selection = self.possible_agents[self._pos]
        else:
            for x in self.agents:
                p = own_row(self.params, o, x, "profits")
                self.rewards[x] = float(p.mean() if self._reward == "mean" else p.sum())
                self.infos[x] = outcome_info(self.params, o, x)
                self.infos[x]["rejects"] = self._seats[x].take_rejects()
                self.infos[x]["phase"] = self._phase[x]
                if o.episode_end:
                    self.terminations[x] = True
            if not o.episode_end:
                self._lt.play(self._move_of(self.possible_agents[0]))
            self.agent_selection = self.possible_agents[0]
        self._accumulate_rewards()

    def render(self) -> None:
        return None

    def close(self) -> None:
        """Disconnects every firm and stops the loop thread (idempotent)."""
        if self._closed:
            return
        self._closed = True

        async def close_all() -> None:
            for s in self._seats.values():
                await s.close()

        try:
            self._lt.call(close_all(), timeout=10)
        finally:
            self._lt.stop()
