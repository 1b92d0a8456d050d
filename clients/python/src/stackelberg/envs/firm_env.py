"""A Gymnasium environment for one firm of a live run (the market and the other firms are remote)."""

from __future__ import annotations

import ssl
from typing import Any, Optional, SupportsFloat, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import pb
from ..client import FirmClient, StackelbergError
from ._core import LoopThread, Obs, RunEnded, Seat, obs_columns, observation, outcome_info, own_row

__all__ = ["FirmEnv"]



class FirmEnv(gym.Env[Obs, Obs]):
    """One firm of a live run as a :class:`gymnasium.Env`.

    Connects with the firm's own credentials and registers on construction (preparing, then ready:
    the market starts the run once every firm of the experiment is ready).

    * Observation: ``Box(-inf, inf, (B, k), float64)``, row ``i`` is instance ``i``: the columns
      ``RunParams.observation_columns`` of the firm's MoveRequest; then, in a run with an
      adjustment cost, ``own_last_quantity`` (the firm's quantity in the episode's previous round,
      0 at its start); in a run where some firm has a learning-by-doing cost,
      ``own_marginal_cost`` (the firm's current marginal cost); and last ``committed_total``, the
      sum of the quantities every earlier tier committed in that instance (always 0 for leaders).
      The reward depends on the two per-firm columns in the runs that carry them. :attr:`columns`
      names them (:func:`~stackelberg.envs.obs_columns`).
    * Action: ``Box(0, quantity_max, (B,), float64)``, one quantity per instance (clipped to the box).
    * :meth:`step` submits the action for the current round, waits for the round's Outcome and
      returns ``reward`` = the firm's **mean** profit over the B instances (``reward="sum"``: the
      sum), ``terminated`` = ``Outcome.episode_end``, ``truncated`` = False, and the observation of
      the firm's next move request (at the end of an episode, the observation just played again:
      the next episode's first move is read by :meth:`reset`). ``info`` holds the round's
      ``prices``, the firm's ``quantities`` (as cleared) and ``profits`` per instance, ``absent``,
      ``rejects``: the market's rejects received since the previous step ("LATE: round 12: ...");
      a reject never stops the environment; and ``phase``, the training phase named by the move
      request whose observation is returned (``RunControl PHASE_CHANGE``; "" when the run has
      none). :meth:`reset`'s ``info`` holds ``phase`` too.
    * :meth:`reset` returns the first move request of an episode. Called mid-episode it finishes
      the episode by submitting zeros. The market decides everything: ``seed`` only seeds
      :attr:`np_random` (the run's randomness is the run seed's).
    * A single round's deadline is the run's ``deadlineMs``: a step that comes too late gets the
      run's default action (``info["absent"]``).

    The asyncio client runs on an event loop in a background thread, so the API is synchronous.
    :attr:`last_outcome` is the last Outcome message. Raises :class:`RunEnded` after END_OF_RUN.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        url: str,
        run: str,
        firm_id: str,
        role: Union[str, int],
        tier: int,
        *,
        creds: Optional[str] = None,
        tls: Optional[ssl.SSLContext] = None,
        timeout: float = 60.0,
        reward: str = "mean",
        register_timeout: float = 60.0,
    ) -> None:
        if reward not in ("mean", "sum"):
            raise ValueError("reward must be 'mean' or 'sum'")
        self._reward = reward
        self._lt = LoopThread(f"stackelberg-env-{firm_id}")
        self._closed = False
        client = FirmClient(url, run, firm_id, role, tier, creds=creds, tls=tls, register_timeout=register_timeout)
        self._seat = Seat(client, timeout)
        try:
            self.params: pb.RunParams = self._lt.call(self._seat.start())
        except BaseException:
            self.close()
            raise
        B = int(self.params.batch)
        #: The names of the observation's columns.
        self.columns = obs_columns(self.params)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(B, len(self.columns)), dtype=np.float64)
        self.action_space = spaces.Box(0.0, float(self.params.quantity_max), shape=(B,), dtype=np.float64)
        self.firm_id = firm_id
        #: The last Outcome of a round this environment played.
        self.last_outcome: Optional[pb.Outcome] = None
        self._obs: Optional[Obs] = None
        #: MoveRequest.phase of the move request :attr:`_obs` comes from.
        self._phase = ""
        self._done = True

    async def _episode_start(self) -> pb.MoveRequest:
        s = self._seat
        while True:
            m = await s.next_move()
            if m.step == 0:
                return m
            r = await s.submit([0.0] * int(self.params.batch))
            self.last_outcome = await s.outcome(r)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        m = self._lt.play(self._episode_start())
        self._obs = observation(self.params, m, self.firm_id)
        self._phase = m.phase
        self._done = False
        return self._obs.copy(), {"phase": self._phase}

    async def _step(self, q: list[float]) -> tuple[pb.Outcome, Optional[pb.MoveRequest]]:
        s = self._seat
        r = await s.submit(q)
        o = await s.outcome(r)
        if o.episode_end:
            return o, None
        return o, await s.next_move()

    def step(self, action: Obs) -> tuple[Obs, SupportsFloat, bool, bool, dict[str, Any]]:
        self._lt.check_not_ended()
        if self._done or self._obs is None:
            raise StackelbergError("call reset() before step() (and after the end of an episode)")
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), 0.0, float(self.params.quantity_max))
        if a.shape != (int(self.params.batch),) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be {self.params.batch} finite quantities, got shape {np.shape(action)}")
        o, m = self._lt.play(self._step([float(x) for x in a]))
        self.last_outcome = o
        profits = own_row(self.params, o, self.firm_id, "profits")
        reward = float(profits.mean() if self._reward == "mean" else profits.sum())
        terminated = bool(o.episode_end)
        if m is not None:
            self._obs = observation(self.params, m, self.firm_id)
            self._phase = m.phase
        self._done = terminated
        info = outcome_info(self.params, o, self.firm_id)
        info["rejects"] = self._seat.take_rejects()
        info["phase"] = self._phase
        return self._obs.copy(), reward, terminated, False, info

    def close(self) -> None:
        """Disconnects and stops the loop thread (idempotent). A pending move is left unanswered."""
        if self._closed:
            return
        self._closed = True
        try:
            self._lt.call(self._seat.close(), timeout=10)
        finally:
            self._lt.stop()

