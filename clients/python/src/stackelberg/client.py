"""The asyncio firm client.

One :class:`FirmClient` is one firm of one run. It connects with the firm's own NATS identity (an
nkey seed file written by ``stackelberg auth``) and the firm's inbox prefix
``_INBOX.stk.<run>.firm.<id>`` (the market answers a ``Register`` only there), registers, delivers
the run's events and publishes submissions::

    async with FirmClient("nats://127.0.0.1:4222", "p1", "follower", "follower", 1,
                          creds="auth/firm-follower.nk") as firm:
        params = await firm.register(preparing=True)   # RunParams: batch, demand, costs...
        await firm.register(preparing=False)           # ready: the run starts when all are
        async for ev in firm.events():                 # ends at END_OF_RUN
            if isinstance(ev, pb.MoveRequest):
                await firm.submit(ev.round, [22.5] * params.batch)

The client follows the protocol by itself: it registers again on a ``Reject`` ``UNKNOWN_FIRM``
and on ``RunControl REGISTER``, drops move requests that do not name it or do not match the run
(batch, array lengths, non-finite values: :func:`stackelberg.validate.move_problem`), outcomes of
rounds it already saw or that do not match the run, and undecodable messages, and ends
:meth:`FirmClient.events` at ``END_OF_RUN`` (raising :class:`RunFailed` when the run failed).
Rejects and dropped messages are logged at most once every 5 s per kind, with the number
suppressed in between.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import os
import re
import ssl
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Optional, Union

from google.protobuf.message import DecodeError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from . import pb
from .ratelog import RateLimitedLog
from .validate import move_problem, outcome_problem

__all__ = [
    "Event",
    "FirmClient",
    "RegistrationRefused",
    "RegisterTimeout",
    "RunFailed",
    "StackelbergError",
    "Subjects",
    "committed_total",
    "inbox_prefix",
    "subjects",
    "tls_context",
]

log = logging.getLogger("stackelberg.client")

#: What :meth:`FirmClient.events` yields.
Event = Union[pb.MoveRequest, pb.Outcome, pb.Reject, pb.RunControl]

#: A policy for :meth:`FirmClient.play`: a MoveRequest in, B quantities out (or an awaitable of them).
Policy = Callable[[pb.MoveRequest], Union[Sequence[float], Awaitable[Sequence[float]]]]

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SEED = re.compile(r"^SU[A-Z2-7]{50,}$")


class StackelbergError(Exception):
    """Base class of the client's errors."""


class RegistrationRefused(StackelbergError):
    """The market answered a Register with a refusal; retrying will not help.

    ``code`` is the reject code's name (``"NOT_IN_RUN"``, ``"VERSION"``...), ``detail`` the market's text.
    """

    def __init__(self, firm_id: str, code: str, detail: str) -> None:
        super().__init__(f"market refused registration of {firm_id}: {code}: {detail}")
        self.firm_id = firm_id
        self.code = code
        self.detail = detail


class RegisterTimeout(StackelbergError):
    """The market did not answer a Register before the registration timeout."""


class RunFailed(StackelbergError):
    """The market ended the run with ``END_OF_RUN`` and ``failed = true``; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the run failed: {reason[:300]}")
        self.reason = reason


def inbox_prefix(run: str, firm_id: str) -> str:
    """The inbox prefix firm ``firm_id`` of run ``run`` must connect with."""
    return f"_INBOX.stk.{run}.firm.{firm_id}"


@dataclass(frozen=True)
class Subjects:
    """The subjects one firm uses (see docs/protocol.md)."""

    register: str
    submit: str
    reject: str
    move: str
    outcome: str
    control: str


def subjects(run: str, firm_id: str, tier: int) -> Subjects:
    """The subjects of firm ``firm_id`` in tier ``tier`` of run ``run``."""
    p = f"stk.{run}"
    return Subjects(
        register=f"{p}.register.{firm_id}",
        submit=f"{p}.submit.{firm_id}",
        reject=f"{p}.reject.{firm_id}",
        move=f"{p}.move.{tier}",
        outcome=f"{p}.outcome",
        control=f"{p}.control",
    )


def committed_total(move: pb.MoveRequest, batch: int) -> list[float]:
    """Per instance, the sum of the quantities every earlier tier committed (length ``batch``).

    ``TierQuantities.quantities`` is firm-major: ``quantities[j * batch + i]`` is firm ``j`` of
    that tier in instance ``i``. Raises :class:`ValueError` when an entry does not hold
    ``len(firm_ids) * batch`` values (:class:`FirmClient` never delivers such a move request).
    """
    total = [0.0] * batch
    for tq in move.committed:
        q = tq.quantities
        n = len(tq.firm_ids)
        if len(q) != n * batch:
            raise ValueError(f"committed quantities of tier {tq.tier}: {len(q)} values, want {n} firms x {batch}")
        for j in range(n):
            for i in range(batch):
                total[i] += q[j * batch + i]
    return total


def tls_context(ca: Optional[str] = None, cert: Optional[str] = None, key: Optional[str] = None) -> ssl.SSLContext:
    """A client TLS context: trust ``ca`` (else the system's roots) and present ``cert``/``key`` if given."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _role(role: Union[str, int]) -> int:
    if isinstance(role, str):
        r = role.lower()
        if r == "leader":
            return pb.ROLE_LEADER
        if r == "follower":
            return pb.ROLE_FOLLOWER
        raise ValueError(f"role must be 'leader' or 'follower', not {role!r}")
    if role not in (pb.ROLE_LEADER, pb.ROLE_FOLLOWER):
        raise ValueError(f"role must be ROLE_LEADER or ROLE_FOLLOWER, not {role!r}")
    return int(role)


def _clip(s: str, n: int = 300) -> str:
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in s[: n + 1])
    return s if len(s) <= n else s[:n] + "..."


class _End:
    """Queue marker: the run is over (or the client failed with ``error``)."""

    def __init__(self, control: Optional[pb.RunControl] = None, error: Optional[BaseException] = None) -> None:
        self.control = control
        self.error = error


class FirmClient:
    """One firm of one run on the bus.

    :param url: NATS server URL (``nats://host:4222``, or ``tls://...``).
    :param run: the run id.
    :param firm_id: this firm's id (1-64 characters of ``A-Z a-z 0-9 _ -``).
    :param role: ``"leader"`` / ``"follower"`` (or ``pb.ROLE_LEADER`` / ``pb.ROLE_FOLLOWER``).
    :param tier: the firm's tier (0 for leaders).
    :param creds: path of the firm's credentials: an nkey seed file (``firm-<id>.nk`` from
        ``stackelberg auth``) or a ``.creds`` file (user JWT + seed). ``None`` connects without
        credentials (only for a server without auth).
    :param tls: an :class:`ssl.SSLContext` for ``tls://`` servers (see :func:`tls_context`).
    :param capabilities: announced on registration (e.g. ``["policy:br"]``).
    :param register_timeout: seconds to keep retrying a Register the market does not answer.
    :param request_timeout: seconds to wait for each Register's reply.
    """

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
        capabilities: Sequence[str] = (),
        register_timeout: float = 60.0,
        request_timeout: float = 2.0,
    ) -> None:
        for what, v in (("run", run), ("firm_id", firm_id)):
            if not _ID.match(v):
                raise ValueError(f"{what} must be 1-64 characters of A-Z a-z 0-9 _ -, not {v!r}")
        if tier < 0:
            raise ValueError("tier must be >= 0")
        self.url = url
        self.run = run
        self.firm_id = firm_id
        self.role = _role(role)
        self.tier = tier
        self.creds = creds
        self.tls = tls
        self.capabilities = list(capabilities)
        self.register_timeout = register_timeout
        self.request_timeout = request_timeout
        self.subjects = subjects(run, firm_id, tier)
        #: The run's parameters, set by the first successful :meth:`register`.
        self.params: Optional[pb.RunParams] = None
        #: This firm's row in firm-major arrays (``RegisterReply.firm_index``).
        self.firm_index = 0
        #: The round the market was in at the last registration.
        self.current_round = 0
        #: ``RunControl.reason`` of the END_OF_RUN that ended :meth:`events`.
        self.end_reason: Optional[str] = None
        #: Counters: moves and outcomes delivered, rejects, messages dropped (undecodable, or not
        #: matching the run), re-registrations, submissions, rounds :meth:`play` skipped because
        #: the policy answered a non-finite quantity.
        self.stats: dict[str, int] = {
            "moves": 0, "outcomes": 0, "rejects": 0, "dropped": 0, "reregistered": 0, "submitted": 0, "skipped": 0,
        }
        #: The name of the last reject code received.
        self.last_reject: Optional[str] = None
        self._nc: Optional[NATS] = None
        self._subs: list[Subscription] = []
        self._queue: asyncio.Queue[Union[Event, _End]] = asyncio.Queue()
        self._ready = False
        self._last_outcome_round = -1
        self._reregistering: Optional[asyncio.Task[None]] = None
        self._reregister_again = False
        self._ended = False
        #: Rejects and dropped messages: one line per kind every 5 s at most.
        self._wire_log = RateLimitedLog(log)

    # -- connection -------------------------------------------------------------------------

    @property
    def inbox_prefix(self) -> str:
        """``_INBOX.stk.<run>.firm.<id>``: where this firm's Register replies arrive."""
        return inbox_prefix(self.run, self.firm_id)

    @property
    def nc(self) -> NATS:
        """The underlying nats-py connection (after :meth:`connect`)."""
        if self._nc is None:
            raise StackelbergError("not connected: call connect() first")
        return self._nc

    def _auth_options(self) -> dict[str, Any]:
        if self.creds is None:
            return {}
        path = os.fspath(self.creds)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            mode = os.stat(path).st_mode
        except OSError as e:
            raise StackelbergError(f"creds {path}: cannot read it ({e.strerror or e})") from e
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("creds %s is readable by others; it should be mode 0600", path)
        if "-----BEGIN NATS USER JWT-----" in text:
            return {"user_credentials": path}
        if not _SEED.match(text.strip()):
            raise StackelbergError(f"creds {path}: not an nkey user seed (SU...) nor a .creds file")
        return {"nkeys_seed": path}

    async def connect(self) -> None:
        """Connects to NATS with the firm's credentials and inbox prefix and subscribes to its subjects.

        Subscribing happens before any registration, so no move request of the first round is missed.
        """
        if self._nc is not None:
            return
        nc = NATS()

        async def on_error(e: Exception) -> None:
            log.warning("nats: %s", _clip(str(e) or type(e).__name__))

        opts: dict[str, Any] = dict(
            servers=[self.url],
            name=f"stackelberg-py firm {self.firm_id}",
            inbox_prefix=self.inbox_prefix,
            error_cb=on_error,
            max_reconnect_attempts=-1,
            **self._auth_options(),
        )
        if self.tls is not None:
            opts["tls"] = self.tls
        await nc.connect(**opts)
        self._nc = nc
        s = self.subjects
        self._subs = [
            await nc.subscribe(s.move, cb=self._on_move),
            await nc.subscribe(s.outcome, cb=self._on_outcome),
            await nc.subscribe(s.control, cb=self._on_control),
            await nc.subscribe(s.reject, cb=self._on_reject),
        ]
        await nc.flush()

    async def close(self) -> None:
        """Stops re-registration, unsubscribes and closes the connection (idempotent)."""
        if self._reregistering is not None:
            self._reregistering.cancel()
        self._wire_log.flush()
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.drain()
            except Exception:  # noqa: BLE001 - closing anyway
                await nc.close()

    async def __aenter__(self) -> "FirmClient":
        await self.connect()
        return self

    async def __aexit__(
        self, t: Optional[type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    # -- registration ------------------------------------------------------------------------

    async def register(self, preparing: bool = False) -> pb.RunParams:
        """Registers (idempotent), retrying until the market answers; returns the run's parameters.

        With ``preparing=True`` the firm only fetches :class:`pb.RunParams` and is not counted yet;
        register again with ``preparing=False`` when ready to move (the run starts once every firm
        has). Raises :class:`RegistrationRefused` (with the reject code's name) on a refusal, and
        :class:`RegisterTimeout` when the market did not answer within ``register_timeout`` seconds.
        """
        nc = self.nc
        req = pb.Register(
            protocol_version=pb.PROTOCOL_VERSION_1,
            firm_id=self.firm_id,
            role=self.role,  # type: ignore[arg-type]
            tier=self.tier,
            capabilities=self.capabilities,
            preparing=preparing,
        ).SerializeToString()
        deadline = time.monotonic() + self.register_timeout
        while True:
            try:
                msg = await nc.request(self.subjects.register, req, timeout=self.request_timeout)
                reply = pb.RegisterReply.FromString(msg.data)
            except (NatsTimeoutError, NoRespondersError, DecodeError) as e:
                # The market may not be up yet (or is restarting): retry.
                if time.monotonic() > deadline:
                    raise RegisterTimeout(
                        f"no answer to {self.firm_id}'s registration on {self.subjects.register} "
                        f"within {self.register_timeout:g} s ({type(e).__name__})"
                    ) from e
                await asyncio.sleep(0.2)
                continue
            if not reply.accepted:
                code = pb.RejectCode.Name(reply.reject.code) if reply.reject.code in pb.RejectCode.values() else str(reply.reject.code)
                raise RegistrationRefused(self.firm_id, code, _clip(reply.reject.detail))
            self.params = reply.params
            self.firm_index = reply.firm_index
            self.current_round = reply.current_round
            if not preparing:
                self._ready = True
            log.info("%s registered (preparing=%s, round %d)", self.firm_id, preparing, reply.current_round)
            return reply.params

    def _reregister(self, why: str) -> None:
        """Registers again in the background. A request arriving while one is in flight makes it
        register once more afterwards (the in-flight one may have reached a market that is gone)."""
        if not self._ready or self._ended:
            return
        log.info("%s registering again: %s", self.firm_id, why)
        self._reregister_again = True
        if self._reregistering is not None and not self._reregistering.done():
            return

        async def go() -> None:
            try:
                while self._reregister_again:
                    self._reregister_again = False
                    await self.register(preparing=False)
                    self.stats["reregistered"] += 1
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - surfaces through events()
                self._queue.put_nowait(_End(error=e))

        self._reregistering = asyncio.get_running_loop().create_task(go())

    # -- incoming ----------------------------------------------------------------------------

    def _decode(self, cls: Any, msg: Msg) -> Any:
        try:
            return cls.FromString(msg.data)
        except DecodeError as e:
            self.stats["dropped"] += 1
            self._wire_log.warning(
                f"undecodable.{cls.__name__}", "%s: undecodable %s on %s dropped: %s",
                self.firm_id, cls.__name__, _clip(msg.subject, 120), _clip(str(e)),
            )
            return None

    def _drop(self, what: str, why: str) -> None:
        self.stats["dropped"] += 1
        self._wire_log.warning(f"invalid.{what}", "%s: %s dropped: %s", self.firm_id, what, _clip(why))

    async def _on_move(self, msg: Msg) -> None:
        m: Optional[pb.MoveRequest] = self._decode(pb.MoveRequest, msg)
        if m is None or self.firm_id not in m.tier_firm_ids:
            return  # not this firm's move (evicted, or another firm of the tier)
        if self.params is None:
            return self._drop("MoveRequest", f"round {m.round}: the run's parameters are not known yet (not registered)")
        # Checked once here, so that no policy indexes an array off the wire unchecked.
        why = move_problem(self.params, m, self.firm_id)
        if why is not None:
            return self._drop("MoveRequest", why)
        self.stats["moves"] += 1
        self._queue.put_nowait(m)

    async def _on_outcome(self, msg: Msg) -> None:
        o: Optional[pb.Outcome] = self._decode(pb.Outcome, msg)
        if o is None or o.round <= self._last_outcome_round or self.params is None:
            return  # a round is observed once (and only once the run's shape is known)
        why = outcome_problem(self.params, o, self.firm_id)
        if why is not None:
            return self._drop("Outcome", why)
        self._last_outcome_round = o.round
        self.stats["outcomes"] += 1
        self._queue.put_nowait(o)

    async def _on_reject(self, msg: Msg) -> None:
        r: Optional[pb.Reject] = self._decode(pb.Reject, msg)
        if r is None:
            return
        self.stats["rejects"] += 1
        self.last_reject = pb.RejectCode.Name(r.code) if r.code in pb.RejectCode.values() else str(r.code)
        self._wire_log.warning(
            f"reject.{self.last_reject}", "%s: market rejected round %d: %s: %s",
            self.firm_id, r.round, self.last_reject, _clip(r.detail),
        )
        if r.code == pb.UNKNOWN_FIRM:
            self._reregister("market does not know this firm")
        self._queue.put_nowait(r)

    async def _on_control(self, msg: Msg) -> None:
        c: Optional[pb.RunControl] = self._decode(pb.RunControl, msg)
        if c is None:
            return
        if c.kind == pb.REGISTER:
            self._reregister("market asked every firm to register")
        if c.kind == pb.END_OF_RUN:
            self._queue.put_nowait(_End(control=c))
        else:
            self._queue.put_nowait(c)

    async def events(self) -> AsyncIterator[Event]:
        """The run's events, in arrival order, until ``END_OF_RUN``.

        Yields :class:`pb.MoveRequest` (this firm's tier, only those naming this firm),
        :class:`pb.Outcome` (each round once), :class:`pb.Reject` and :class:`pb.RunControl` (other
        than END_OF_RUN). Ends at END_OF_RUN (its reason in :attr:`end_reason`); raises
        :class:`RunFailed` when the run failed, and the error of a failed re-registration.
        """
        while True:
            ev = await self._queue.get()
            if isinstance(ev, _End):
                if ev.error is not None:
                    raise ev.error
                c = ev.control
                assert c is not None
                self._ended = True
                self.end_reason = c.reason
                self._wire_log.flush()
                log.info("%s: end of run (%s)", self.firm_id, _clip(c.reason) or "no reason given")
                if c.failed:
                    raise RunFailed(c.reason)
                return
            yield ev

    # -- outgoing ----------------------------------------------------------------------------

    async def submit(self, round: int, quantities: Sequence[float]) -> None:
        """Publishes this firm's Submission for ``round`` on ``stk.<run>.submit.<id>``.

        ``quantities`` must hold exactly B finite values in ``[0, quantity_max]`` (the market
        rejects anything else with a Reject on this firm's reject subject).
        """
        if self.params is not None and len(quantities) != self.params.batch:
            raise ValueError(f"expected {self.params.batch} quantities (the run's batch), got {len(quantities)}")
        sub = pb.Submission(run_id=self.run, firm_id=self.firm_id, round=round, quantities=[float(q) for q in quantities])
        await self.nc.publish(self.subjects.submit, sub.SerializeToString())
        self.stats["submitted"] += 1

    async def play(
        self,
        policy: Policy,
        on_outcome: Optional[Callable[[pb.Outcome], Any]] = None,
    ) -> Optional[str]:
        """Answers every move request with ``policy(move)`` until END_OF_RUN; returns its reason.

        ``on_outcome`` (optional) sees every outcome. An answer holding NaN or an infinity is not
        submitted: the round is skipped (logged, and counted in ``stats["skipped"]``) and the
        market applies the run's default action. Raises :class:`RunFailed` if the run failed.
        """
        async for ev in self.events():
            if isinstance(ev, pb.MoveRequest):
                q = policy(ev)
                if inspect.isawaitable(q):
                    q = await q
                bad = next((i for i, v in enumerate(q) if not math.isfinite(v)), None)
                if bad is not None:
                    self.stats["skipped"] += 1
                    self._wire_log.warning(
                        "policy.non-finite", "%s: round %d skipped: the policy answered %r in instance %d",
                        self.firm_id, ev.round, q[bad], bad,
                    )
                    continue
                await self.submit(ev.round, q)
            elif isinstance(ev, pb.Outcome) and on_outcome is not None:
                r = on_outcome(ev)
                if inspect.isawaitable(r):
                    await r
        return self.end_reason
