"""Shared machinery of the environments: an asyncio loop in a background thread and one "seat"
(a connected, registered :class:`~stackelberg.client.FirmClient`) per firm played from Python."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, Optional, TypeVar

import numpy as np
import numpy.typing as npt

from .. import pb
from ..client import Event, FirmClient, StackelbergError, committed_total
from ..validate import carries_own_last_quantity, carries_own_marginal_cost, move_problem, outcome_problem

T = TypeVar("T")

Obs = npt.NDArray[np.float64]


class RunEnded(StackelbergError):
    """The market ended the run (END_OF_RUN): no more rounds to play."""


class LoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`call` blocks until a coroutine is done."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        #: Set once END_OF_RUN was seen by :meth:`play`.
        self.ended: Optional[RunEnded] = None
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: Optional[float] = None) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def play(self, coro: Coroutine[Any, Any, T]) -> T:
        """:meth:`call` for an environment's moves: once one raised :class:`RunEnded` (END_OF_RUN),
        every later one raises it again without touching the bus."""
        try:
            self.check_not_ended()
            return self.call(coro)
        except RunEnded as e:
            self.ended = e
            raise
        finally:
            coro.close()

    def check_not_ended(self) -> None:
        """Raises :class:`RunEnded` again once the run has ended."""
        if self.ended is not None:
            raise RunEnded(str(self.ended))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


class Seat:
    """One firm played from Python: its client, its unanswered move request and the outcomes it saw."""

    def __init__(self, client: FirmClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.move: Optional[pb.MoveRequest] = None
        self.outcomes: dict[int, pb.Outcome] = {}
        self._events: Optional[AsyncIterator[Event]] = None
        self.params: Optional[pb.RunParams] = None
        #: Rejects received since :meth:`take_rejects` was last called (at most 64 kept).
        self.rejects: list[str] = []

    @property
    def firm_id(self) -> str:
        return self.client.firm_id

    async def start(self, preparing_only: bool = False) -> pb.RunParams:
        await self.client.connect()
        self.params = await self.client.register(preparing=True)
        if not preparing_only:
            await self.ready()
        return self.params

    async def ready(self) -> None:
        await self.client.register(preparing=False)

    async def _next(self) -> Event:
        if self._events is None:
            self._events = self.client.events()
        try:
            return await asyncio.wait_for(self._events.__anext__(), self.timeout)
        except StopAsyncIteration:
            raise RunEnded(f"end of run: {self.client.end_reason or 'no reason given'}") from None
        except asyncio.TimeoutError:
            raise StackelbergError(f"{self.firm_id}: no event from the market within {self.timeout:g} s") from None

    def _take(self, ev: Event) -> None:
        if isinstance(ev, pb.MoveRequest):
            self.move = ev
        elif isinstance(ev, pb.Outcome):
            self.outcomes[int(ev.round)] = ev
            for r in [r for r in self.outcomes if r < int(ev.round) - 64]:
                del self.outcomes[r]
        elif isinstance(ev, pb.Reject):
            # A reject is news, not a failure: the market cleared the round without this firm's
            # submission (the Outcome says absent; LATE after a slow step), and after UNKNOWN_FIRM
            # the client registers again by itself. The firm keeps playing (docs/protocol.md).
            name = pb.RejectCode.Name(ev.code) if ev.code in pb.RejectCode.values() else str(ev.code)
            self.rejects.append(f"{name}: round {ev.round}: {ev.detail[:300]}")
            del self.rejects[:-64]
        # RunControl (START, PHASE_CHANGE, CHECKPOINT, REGISTER): nothing to do here.

    def take_rejects(self) -> list[str]:
        """The rejects received since the last call ("CODE: round r: detail"), oldest first."""
        out, self.rejects = self.rejects, []
        return out

    async def next_move(self) -> pb.MoveRequest:
        """This firm's unanswered move request, waiting for it if needed."""
        while self.move is None:
            self._take(await self._next())
        return self.move

    async def submit(self, quantities: Sequence[float]) -> int:
        """Answers the pending move request; returns its round."""
        m = self.move
        if m is None:
            raise StackelbergError(f"{self.firm_id}: no move request to answer")
        self.move = None
        await self.client.submit(int(m.round), quantities)
        return int(m.round)

    async def outcome(self, round: int) -> pb.Outcome:
        """The outcome of ``round``, waiting for it if needed."""
        while round not in self.outcomes:
            self._take(await self._next())
        return self.outcomes.pop(round)

    async def close(self) -> None:
        await self.client.close()


def obs_columns(params: pb.RunParams) -> list[str]:
    """The columns of an environment observation, in order: the run's observation columns
    (``RunParams.observation_columns``), then ``own_last_quantity`` in runs with an adjustment
    cost, ``own_marginal_cost`` in runs where some firm has a learning-by-doing cost, and last
    ``committed_total``."""
    cols = [pb.column_name(c) for c in params.observation_columns]
    if carries_own_last_quantity(params):
        cols.append("own_last_quantity")
    if carries_own_marginal_cost(params):
        cols.append("own_marginal_cost")
    return [*cols, "committed_total"]


def observation(params: pb.RunParams, move: pb.MoveRequest, firm_id: Optional[str] = None) -> Obs:
    """The (B, k) observation of ``move`` for firm ``firm_id`` (columns: :func:`obs_columns`).

    Row ``i`` is instance ``i``: RunParams.observation_columns, then (in the runs that carry them)
    the firm's own quantity in the episode's previous round and its current marginal cost (its
    rows of ``own_last_quantity`` / ``own_marginal_cost``, which the adjustment and learning-by-doing
    costs of its reward depend on), then the total quantity committed by earlier tiers (always 0
    for tier 0). ``firm_id`` may be left out when the run carries neither per-firm column, or
    when the move request's tier has one firm. Raises :class:`ValueError` for a move request that
    does not match the run (:class:`~stackelberg.client.FirmClient` delivers none).
    """
    own = [
        values
        for values, carried in (
            (move.own_last_quantity, carries_own_last_quantity(params)),
            (move.own_marginal_cost, carries_own_marginal_cost(params)),
        )
        if carried
    ]
    ids = list(move.tier_firm_ids)
    if firm_id is None and len(ids) == 1:
        firm_id = ids[0]
    if firm_id is None and own:
        raise ValueError("observation() needs firm_id: the run carries per-firm columns and the tier has several firms")
    if firm_id is not None:
        why = move_problem(params, move, firm_id)
        if why is not None:
            raise ValueError(why)
    B = int(params.batch)
    k = len(params.observation_columns)
    out = np.zeros((B, k + len(own) + 1), dtype=np.float64)
    if k:
        if len(move.observation) != B * k:
            raise ValueError(f"round {move.round}: {len(move.observation)} observation values, want {B} x {k}")
        out[:, :k] = np.asarray(move.observation, dtype=np.float64).reshape(B, k)
    if own:
        assert firm_id is not None
        j = ids.index(firm_id)  # move_problem checked that the firm is named and the rows are there
        for c, values in enumerate(own):
            out[:, k + c] = np.asarray(values[j * B : (j + 1) * B], dtype=np.float64)
    out[:, -1] = committed_total(move, B)
    return out


def own_row(params: pb.RunParams, outcome: pb.Outcome, firm_id: str, field: str) -> Obs:
    """Firm ``firm_id``'s row (length B) of a firm-major Outcome array (``quantities`` or ``profits``).

    Raises :class:`StackelbergError` when the outcome does not name the firm or the array is not
    ``len(firm_ids) * B`` long (:class:`~stackelberg.client.FirmClient` delivers no such outcome).
    """
    B = int(params.batch)
    ids = list(outcome.firm_ids)
    if firm_id not in ids:
        raise StackelbergError(f"round {outcome.round}: the outcome does not name {firm_id}")
    j = ids.index(firm_id)
    values: Sequence[float] = getattr(outcome, field)
    if len(values) != len(ids) * B:
        raise StackelbergError(f"round {outcome.round}: {len(values)} {field}, want {len(ids)} firms x {B}")
    return np.asarray(values[j * B : (j + 1) * B], dtype=np.float64)


def outcome_info(params: pb.RunParams, outcome: pb.Outcome, firm_id: str) -> dict[str, Any]:
    """The deterministic part of an outcome for one firm (no round numbers or clocks).

    Raises :class:`StackelbergError` for an outcome that does not match the run (see :func:`own_row`).
    """
    why = outcome_problem(params, outcome, firm_id)
    if why is not None:
        raise StackelbergError(why)
    j = list(outcome.firm_ids).index(firm_id)
    return {
        "prices": np.asarray(outcome.prices, dtype=np.float64),
        "quantities": own_row(params, outcome, firm_id, "quantities"),
        "profits": own_row(params, outcome, firm_id, "profits"),
        "absent": bool(outcome.absent[j]) if j < len(outcome.absent) else False,
    }
