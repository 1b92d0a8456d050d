"""FirmClient against a real nats-server and a fake market coroutine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from stackelberg import FirmClient, RegistrationRefused, RunFailed, pb
from stackelberg.best_response import linear_model, respond
from stackelberg.blocking import BlockingFirmClient

RUN = "t1"
FIRM = "follower"
B = 2


def run_params() -> pb.RunParams:
    return pb.RunParams(
        run_id=RUN, batch=B, rounds_per_episode=1, total_rounds=1, tiers=2, quantity_max=100, deadline_ms=1000,
        demand=pb.Demand(linear=pb.LinearDemand(a=100, b=1)),
        firms=[
            pb.FirmInfo(firm_id="follower", role=pb.ROLE_FOLLOWER, tier=1, cost=pb.Cost(linear=pb.LinearCost(c=10))),
            pb.FirmInfo(firm_id="leader", role=pb.ROLE_LEADER, tier=0, cost=pb.Cost(linear=pb.LinearCost(c=10))),
        ],
    )


@dataclass
class FakeMarket:
    """Answers Register in the firm's own inbox only (like the real market) and records submissions."""

    url: str
    refuse: int = 0  # reject code to refuse registrations with (0: accept)
    registrations: list[bool] = field(default_factory=list)  # `preparing` of each answered Register
    ignored: list[str] = field(default_factory=list)  # reply subjects outside the firm's inbox
    submissions: asyncio.Queue[pb.Submission] = field(default_factory=asyncio.Queue)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    params: pb.RunParams = field(default_factory=run_params)
    nc: nats.NATS | None = None

    async def start(self) -> None:
        self.nc = await nats.connect(self.url, inbox_prefix=f"_INBOX.stk.{RUN}.market")
        await self.nc.subscribe(f"stk.{RUN}.register.*", cb=self.on_register)
        await self.nc.subscribe(f"stk.{RUN}.submit.*", cb=self.on_submit)
        await self.nc.flush()

    async def on_register(self, msg: Msg) -> None:
        firm = msg.subject.rsplit(".", 1)[1]
        if not msg.reply.startswith(f"_INBOX.stk.{RUN}.firm.{firm}."):
            self.ignored.append(msg.reply)
            return
        req = pb.Register.FromString(msg.data)
        assert req.firm_id == firm and req.protocol_version == pb.PROTOCOL_VERSION_1
        if self.refuse:
            rep = pb.RegisterReply(accepted=False, reject=pb.Reject(code=self.refuse, detail="no such firm", firm_id=firm))
        else:
            ok = req.role == pb.ROLE_FOLLOWER and req.tier == 1
            rep = pb.RegisterReply(accepted=ok, params=self.params, firm_index=0, current_round=0)
            if not ok:
                rep.reject.code = pb.RejectCode.Value("NOT_IN_RUN")
        self.registrations.append(req.preparing)
        await msg.respond(rep.SerializeToString())
        if not req.preparing:
            self.ready.set()

    async def on_submit(self, msg: Msg) -> None:
        s = pb.Submission.FromString(msg.data)
        assert msg.subject == f"stk.{RUN}.submit.{s.firm_id}"
        self.submissions.put_nowait(s)

    async def publish(self, subject: str, m: pb.MoveRequest | pb.Outcome | pb.RunControl | pb.Reject) -> None:
        assert self.nc is not None
        await self.nc.publish(f"stk.{RUN}.{subject}", m.SerializeToString())
        await self.nc.flush()

    async def play_round(self, rnd: int, leader: list[float]) -> pb.Submission:
        """A move for another firm (ignored by ours), then ours; returns our firm's submission."""
        await self.publish("move.1", pb.MoveRequest(run_id=RUN, round=rnd, tier=1, batch=B, tier_firm_ids=["someone-else"]))
        await self.publish("move.1", pb.MoveRequest(
            run_id=RUN, round=rnd, tier=1, batch=B, tier_firm_ids=[FIRM],
            committed=[pb.TierQuantities(tier=0, firm_ids=["leader"], quantities=leader)],
        ))
        return await asyncio.wait_for(self.submissions.get(), 5)

    async def end(self, failed: bool = False) -> None:
        await self.publish("control", pb.RunControl(run_id=RUN, kind=pb.END_OF_RUN, reason="done", failed=failed))

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()


def outcome(rnd: int, **fields: Any) -> pb.Outcome:
    """A well-formed outcome of round ``rnd`` (our firm and the leader, B instances); ``fields`` override."""
    o = pb.Outcome(
        run_id=RUN, round=rnd, batch=B, firm_ids=[FIRM, "leader"], prices=[32.5] * B,
        quantities=[22.5] * B + [45.0] * B, profits=[506.25] * B + [1012.5] * B, absent=[False, False],
    )
    for k, v in fields.items():
        o.ClearField(k)
        if isinstance(v, list):
            getattr(o, k).extend(v)
        else:
            setattr(o, k, v)
    return o


@pytest.fixture
async def market(nats_url: str) -> AsyncIterator[FakeMarket]:
    m = FakeMarket(nats_url)
    await m.start()
    yield m
    await m.close()


async def test_registers_preparing_then_ready_and_submits_best_response(market: FakeMarket) -> None:
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        assert firm.inbox_prefix == "_INBOX.stk.t1.firm.follower"
        params = await firm.register(preparing=True)
        assert params.batch == B and market.registrations == [True]
        await firm.register(preparing=False)
        assert market.registrations == [True, False] and market.ignored == []
        model = linear_model(params, FIRM)
        outcomes: list[int] = []
        task = asyncio.create_task(firm.play(lambda m: respond(model, m), lambda o: outcomes.append(o.round)))
        sub = await market.play_round(7, [45.0, 30.0])
        assert (sub.run_id, sub.firm_id, sub.round) == (RUN, FIRM, 7)
        assert list(sub.quantities) == pytest.approx([22.5, 30.0])
        # Outcomes are delivered once per round.
        for _ in range(2):
            await market.publish("outcome", outcome(7))
        await market.end()
        assert await asyncio.wait_for(task, 5) == "done"
        assert outcomes == [7]
        assert firm.stats["submitted"] == 1 and firm.stats["moves"] == 1


async def test_retries_until_the_market_answers(nats_url: str) -> None:
    async with FirmClient(nats_url, RUN, FIRM, "follower", 1, register_timeout=10, request_timeout=0.3) as firm:
        reg = asyncio.create_task(firm.register(preparing=True))
        await asyncio.sleep(0.8)  # no market yet: no responders / timeouts, retried
        assert not reg.done()
        m = FakeMarket(nats_url)
        await m.start()
        try:
            assert (await asyncio.wait_for(reg, 5)).run_id == RUN
        finally:
            await m.close()


async def test_refusal_raises_with_code_name(market: FakeMarket) -> None:
    async with FirmClient(market.url, RUN, FIRM, "leader", 0) as firm:
        with pytest.raises(RegistrationRefused) as e:
            await firm.register(preparing=True)
        assert e.value.code == "NOT_IN_RUN"


async def test_reregisters_on_unknown_firm_and_register_control(market: FakeMarket) -> None:
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        await firm.register(preparing=True)
        await firm.register(preparing=False)
        events = firm.events()
        await market.publish("reject.follower", pb.Reject(code=pb.UNKNOWN_FIRM, round=3, firm_id=FIRM))
        ev = await asyncio.wait_for(events.__anext__(), 5)
        assert isinstance(ev, pb.Reject) and firm.last_reject == "UNKNOWN_FIRM"
        for _ in range(50):
            if len(market.registrations) == 3:
                break
            await asyncio.sleep(0.05)
        assert market.registrations == [True, False, False]
        await market.publish("control", pb.RunControl(run_id=RUN, kind=pb.REGISTER))
        ev = await asyncio.wait_for(events.__anext__(), 5)
        assert isinstance(ev, pb.RunControl) and ev.kind == pb.REGISTER
        for _ in range(50):
            if len(market.registrations) == 4:
                break
            await asyncio.sleep(0.05)
        assert market.registrations == [True, False, False, False]


async def test_failed_end_of_run_raises(market: FakeMarket) -> None:
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        await firm.register(preparing=False)
        await market.end(failed=True)
        with pytest.raises(RunFailed, match="done"):
            async for _ in firm.events():
                pass


async def test_blocking_wrapper(market: FakeMarket) -> None:
    firm = BlockingFirmClient(market.url, RUN, FIRM, "follower", 1)
    try:
        await asyncio.to_thread(firm.connect)
        params = await asyncio.to_thread(firm.register, True)
        await asyncio.to_thread(firm.register, False)
        model = linear_model(params, FIRM)
        play = asyncio.create_task(asyncio.to_thread(firm.play, lambda m: respond(model, m)))
        sub = await market.play_round(1, [45.0, 45.0])
        assert list(sub.quantities) == pytest.approx([22.5, 22.5])
        await market.end()
        assert await asyncio.wait_for(play, 5) == "done"
    finally:
        await asyncio.to_thread(firm.close)


async def test_br_follower_script(market: FakeMarket) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stackelberg.examples.br_follower", "--nats", market.url, "--run", RUN, "--firm", FIRM,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await asyncio.wait_for(market.ready.wait(), 15)
        sub = await market.play_round(0, [45.0, 100.0])
        assert list(sub.quantities) == pytest.approx([22.5, 0.0])
        await market.end()
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert b"1 submissions" in out and b"0 rejects" in out


async def test_br_follower_refuses_other_demand(market: FakeMarket, capsys: pytest.CaptureFixture[str]) -> None:
    from stackelberg.examples import br_follower

    market.params.demand.exponential.a = 80
    args = br_follower._args(["--nats", market.url, "--run", RUN, "--firm", FIRM, "--register-timeout", "5"])
    assert await br_follower.run(args) == 2
    assert capsys.readouterr().err.strip() == "br_follower: best response needs linear demand; this run's demand is exponential"
    assert market.registrations == [True]  # never announced itself ready


def move(rnd: int, leader: list[float] | None = None, **fields: Any) -> pb.MoveRequest:
    """A well-formed move request of round ``rnd`` for our follower; ``fields`` override."""
    m = pb.MoveRequest(
        run_id=RUN, round=rnd, tier=1, batch=B, tier_firm_ids=[FIRM],
        committed=[pb.TierQuantities(tier=0, firm_ids=["leader"], quantities=leader or [45.0] * B)],
    )
    for k, v in fields.items():
        m.ClearField(k)
        if isinstance(v, list):
            getattr(m, k).extend(v)
        else:
            setattr(m, k, v)
    return m


#: Move requests that decode but do not match the run (B = 2, no observation columns): each is dropped.
INVALID_MOVES = {
    "wrong batch": move(1, batch=B + 1),
    "observation of the wrong length": move(1, observation=[1.0] * B),
    "committed too short": move(1, leader=[45.0]),
    "committed too long": move(1, leader=[45.0] * (B + 1)),
    "NaN in committed": move(1, leader=[45.0, float("nan")]),
    "infinity in committed": move(1, leader=[float("inf"), 45.0]),
    "own_last_quantity of the wrong length": move(1, own_last_quantity=[1.0]),
    "NaN in own_marginal_cost": move(1, own_marginal_cost=[10.0, float("nan")]),
    "not naming the firm": move(1, tier_firm_ids=["someone-else"]),
}


async def test_drops_move_requests_and_outcomes_that_do_not_match_the_run(
    market: FakeMarket, caplog: pytest.LogCaptureFixture
) -> None:
    """Each invalid move request is dropped (no policy call, no submission, no crash) and the next
    valid one answered; an invalid outcome is dropped and the valid one of the same round delivered.
    The drops are logged at a bounded rate: one line for the lot."""
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        params = await firm.register(preparing=True)
        await firm.register(preparing=False)
        model = linear_model(params, FIRM)
        seen: list[int] = []
        outcomes: list[int] = []

        def policy(m: pb.MoveRequest) -> list[float]:
            seen.append(m.round)
            return respond(model, m)

        caplog.set_level("WARNING", logger="stackelberg.client")
        task = asyncio.create_task(firm.play(policy, lambda o: outcomes.append(o.round)))
        for m in INVALID_MOVES.values():
            await market.publish("move.1", m)
        await market.publish("move.1", move(2, [45.0, 30.0]))
        sub = await asyncio.wait_for(market.submissions.get(), 5)
        assert sub.round == 2 and list(sub.quantities) == pytest.approx([22.5, 30.0])
        assert seen == [2] and market.submissions.empty()
        assert firm.stats["dropped"] == len(INVALID_MOVES) - 1  # not naming it is not a drop: not its move
        for bad in (
            outcome(2, batch=B + 1),
            outcome(2, prices=[32.5]),
            outcome(2, profits=[1.0] * B),
            outcome(2, quantities=[22.5, float("nan"), 45.0, 45.0]),
            outcome(2, firm_ids=["leader", "other"]),
            outcome(2, absent=[False]),
        ):
            await market.publish("outcome", bad)
        await market.publish("outcome", outcome(2))
        await market.end()
        assert await asyncio.wait_for(task, 5) == "done"
        assert outcomes == [2]
        dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        # One line per kind (MoveRequest, Outcome) within 5 s; the rest counted at the end of the run.
        assert len([d for d in dropped if "MoveRequest dropped" in d]) == 1, dropped
        assert len([d for d in dropped if "Outcome dropped" in d]) == 1, dropped
        assert any("MoveRequest: 7 not logged one by one" in r.getMessage() for r in caplog.records), caplog.text


async def test_play_skips_a_round_the_policy_answers_with_nan(market: FakeMarket) -> None:
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        await firm.register(preparing=True)
        await firm.register(preparing=False)
        task = asyncio.create_task(firm.play(lambda m: [float("nan"), 1.0] if m.round == 0 else [1.0, 2.0]))
        await market.publish("move.1", move(0))
        await market.publish("move.1", move(1))
        sub = await asyncio.wait_for(market.submissions.get(), 5)
        assert sub.round == 1 and list(sub.quantities) == [1.0, 2.0]
        assert firm.stats["skipped"] == 1 and firm.stats["submitted"] == 1
        await market.end()
        assert await asyncio.wait_for(task, 5) == "done"


async def test_rejects_are_logged_at_a_bounded_rate(market: FakeMarket, caplog: pytest.LogCaptureFixture) -> None:
    async with FirmClient(market.url, RUN, FIRM, "follower", 1) as firm:
        await firm.register(preparing=True)
        await firm.register(preparing=False)
        caplog.set_level("WARNING", logger="stackelberg.client")
        events = firm.events()
        for r in range(20):
            await market.publish("reject.follower", pb.Reject(code=pb.RejectCode.Value("LATE"), round=r, firm_id=FIRM, detail="late"))
        for _ in range(20):
            ev = await asyncio.wait_for(events.__anext__(), 5)
            assert isinstance(ev, pb.Reject)  # every reject is still delivered
        assert firm.stats["rejects"] == 20
        lines = [r.getMessage() for r in caplog.records if "market rejected" in r.getMessage()]
        assert lines == ["follower: market rejected round 0: LATE: late"]
