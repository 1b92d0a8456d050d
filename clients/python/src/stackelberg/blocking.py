"""A blocking wrapper around :class:`~stackelberg.client.FirmClient` for scripts.

The asyncio client runs on an event loop in a background thread; every method blocks until done::

    from stackelberg import pb
    from stackelberg.blocking import BlockingFirmClient

    with BlockingFirmClient("nats://127.0.0.1:4222", "p1", "follower", "follower", 1,
                            creds="auth/firm-follower.nk") as firm:
        params = firm.register(preparing=True)
        firm.register(preparing=False)
        for ev in firm.events():                      # ends at END_OF_RUN
            if isinstance(ev, pb.MoveRequest):
                firm.submit(ev.round, [22.5] * params.batch)

Or, in one call, :func:`play` (``asyncio.run`` under the hood).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Optional, TypeVar, Union

from . import pb
from .client import Event, FirmClient, Policy

__all__ = ["BlockingFirmClient", "play"]

T = TypeVar("T")


class BlockingFirmClient:
    """:class:`FirmClient` with blocking methods; takes the same arguments. Not thread-safe."""

    def __init__(self, url: str, run: str, firm_id: str, role: Union[str, int], tier: int, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"stackelberg-{firm_id}", daemon=True)
        self._thread.start()
        self._args = (url, run, firm_id, role, tier)
        self._kwargs = kwargs
        # FirmClient creates its queue without a loop (Python >= 3.10), so it can be built here.
        self.client = FirmClient(url, run, firm_id, role, tier, **kwargs)
        self._events: Optional[Any] = None
        self._closed = False

    def _call(self, coro: Coroutine[Any, Any, T], timeout: Optional[float] = None) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    @property
    def params(self) -> Optional[pb.RunParams]:
        """The run's parameters (after :meth:`register`)."""
        return self.client.params

    def connect(self) -> None:
        """See :meth:`FirmClient.connect`."""
        self._call(self.client.connect())

    def register(self, preparing: bool = False) -> pb.RunParams:
        """See :meth:`FirmClient.register`."""
        return self._call(self.client.register(preparing))

    def submit(self, round: int, quantities: Sequence[float]) -> None:
        """See :meth:`FirmClient.submit`."""
        self._call(self.client.submit(round, quantities))

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or ``None`` at the end of the run (raises :class:`RunFailed` if it failed).

        Raises :class:`TimeoutError` when ``timeout`` seconds pass without one.
        """
        if self._events is None:
            self._events = self.client.events()

        async def nxt() -> Optional[Event]:
            assert self._events is not None
            try:
                ev: Event = await self._events.__anext__()
                return ev
            except StopAsyncIteration:
                return None

        return self._call(nxt(), timeout)

    def events(self) -> Iterator[Event]:
        """The run's events until END_OF_RUN (see :meth:`FirmClient.events`)."""
        while True:
            ev = self.next_event()
            if ev is None:
                return
            yield ev

    def play(self, policy: Callable[[pb.MoveRequest], Sequence[float]], on_outcome: Optional[Callable[[pb.Outcome], Any]] = None) -> Optional[str]:
        """See :meth:`FirmClient.play` (``policy`` runs on the client's loop thread)."""
        return self._call(self.client.play(policy, on_outcome))

    def close(self) -> None:
        """Closes the connection and stops the loop thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self.client.close(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> "BlockingFirmClient":
        self.connect()
        return self

    def __exit__(self, t: Optional[type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()


def play(
    url: str,
    run: str,
    firm_id: str,
    role: Union[str, int],
    tier: int,
    make_policy: Callable[[pb.RunParams], Policy],
    **kwargs: Any,
) -> Optional[str]:
    """Connects, registers (preparing, then ready), plays ``make_policy(params)`` until the end of the run.

    Returns the END_OF_RUN reason; raises :class:`RunFailed`, :class:`RegistrationRefused`... Blocks
    (``asyncio.run``); do not call it from a running event loop.
    """

    async def main() -> Optional[str]:
        async with FirmClient(url, run, firm_id, role, tier, **kwargs) as firm:
            params = await firm.register(preparing=True)
            policy = make_policy(params)
            await firm.register(preparing=False)
            return await firm.play(policy)

    return asyncio.run(main())
