/**
 * The permissions every identity gets are derived from MESSAGE_RULES; these tests check the table's
 * consequences and that a whole run, played in-process, never needs a subject its identity lacks.
 */
import { describe, expect, it } from "vitest";
import { FirmRuntime, makePolicyFactory } from "../../../agents/index.js";
import { MarketService } from "../../../market/service/index.js";
import { identitiesOf } from "../../../services/auth/index.js";
import {
  accountOf,
  allowed,
  type Bus,
  type BusMessage,
  type Identity,
  MemoryBus,
  permissionsOf,
  type RecordAck,
  type RecordOptions,
  recordImports,
  runSubjects,
  subjectMatches,
} from "../../../services/bus/index.js";
import { parseExperiment } from "../../../services/config/index.js";
import { silent } from "../../fixtures/play.js";

const s = runSubjects("r-1");

describe("permissions", () => {
  it("permissions - subject matching follows NATS wildcards", () => {
    expect(subjectMatches("a.*.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.c")).toBe(false);
  });

  it("permissions - a firm publishes only its own submit and register, hears only its tier, its rejects and the public subjects", () => {
    const p = permissionsOf(s, { role: "firm", firmId: "f1", tier: 1, ctde: false });
    expect([...p.publish].sort()).toEqual([s.register("f1"), s.submit("f1")].sort());
    expect([...p.subscribe].sort()).toEqual([s.move(1), s.reject("f1"), s.outcome, s.control, `${s.inbox({ role: "firm", firmId: "f1", tier: 1, ctde: false })}.>`].sort());
    expect(allowed(p.publish, `${s.firmInboxes.replace("*.>", "f2")}.x`)).toBe(false);
    for (const forbidden of [s.submit("f2"), s.register("f2"), s.outcome, s.control, s.move(1), s.stats, s.train, "$JS.API.STREAM.INFO.STK_r_1", "_INBOX.x"])
      expect(allowed(p.publish, forbidden), forbidden).toBe(false);
    for (const forbidden of [s.reject("f2"), s.move(0), s.train, s.stats, "_INBOX.>", "_INBOX.abc", `${s.inbox({ role: "market" })}.x`, "stk.r-1.>"])
      expect(allowed(p.subscribe, forbidden), forbidden).toBe(false);
  });

  it("permissions - only a CTDE learner hears the training subject", () => {
    const plain = permissionsOf(s, { role: "firm", firmId: "a", tier: 0, ctde: false });
    const ctde = permissionsOf(s, { role: "firm", firmId: "a", tier: 0, ctde: true });
    expect(allowed(plain.subscribe, s.train)).toBe(false);
    expect(allowed(ctde.subscribe, s.train)).toBe(true);
    expect(ctde.publish).toEqual(plain.publish);
  });

  it("permissions - only the market publishes move, outcome, control, train, stats and rejects, and answers registrations", () => {
    const m = permissionsOf(s, { role: "market" });
    for (const subj of [s.move(0), s.move(7), s.outcome, s.control, s.train, s.stats, s.reject("any")]) expect(allowed(m.publish, subj), subj).toBe(true);
    for (const subj of [s.submit("a"), s.register("a")]) {
      expect(allowed(m.publish, subj), subj).toBe(false);
      expect(allowed(m.subscribe, subj), subj).toBe(true);
    }
    // It answers registrations in the firms' inboxes only, never its own or the reader's.
    expect(allowed(m.publish, "_INBOX.stk.r-1.firm.f1.abc.1")).toBe(true);
    expect(allowed(m.publish, "_INBOX.stk.r-1.reader.abc")).toBe(false);
    expect(allowed(m.publish, "_INBOX.other")).toBe(false);
    expect(allowed(m.publish, "$JS.API.STREAM.CREATE.STK_r_1")).toBe(true);
    expect(allowed(m.publish, "$JS.API.DIRECT.GET.STK_r_1")).toBe(true);
    // No consumers: a consumer's deliver subject could aim the record at protocol subjects.
    expect(allowed(m.publish, "$JS.API.CONSUMER.CREATE.STK_r_1.c")).toBe(false);
    // Nothing outside its own run or stream.
    for (const subj of ["$JS.API.STREAM.DELETE.STK_r_1", "$JS.API.STREAM.PURGE.STK_r_1", "$JS.API.STREAM.CREATE.OTHER", "stk.other.outcome"])
      expect(allowed(m.publish, subj), subj).toBe(false);
  });

  it("permissions - the reader reads the record through its own account's imports and nothing more", () => {
    const r = permissionsOf(s, { role: "reader" });
    expect(accountOf({ role: "reader" })).toBe("RESULTS");
    expect(accountOf({ role: "market" })).toBe("RUN");
    expect([...r.publish].sort()).toEqual(recordImports(s).map((i) => i.to).sort());
    expect(recordImports(s).map((i) => i.subject).sort()).toEqual(["$JS.API.DIRECT.GET.STK_r_1", "$JS.API.STREAM.INFO.STK_r_1"]);
    for (const subj of ["$JS.API.CONSUMER.CREATE.STK_r_1.c1", "$JS.API.STREAM.CREATE.STK_r_1", "$JS.API.STREAM.DELETE.STK_r_1", "$JS.API.STREAM.PURGE.STK_r_1", s.outcome, s.submit("a"), s.control])
      expect(allowed(r.publish, subj), subj).toBe(false);
    expect(r.subscribe).toEqual([`${s.inbox({ role: "reader" })}.>`]);
  });

  it("permissions - every identity of an experiment gets its own inbox prefix", () => {
    const exp = parseExperiment({
      name: "ids",
      market: { demand: { kind: "linear", a: 100, b: 1 } },
      firms: [
        { id: "market", role: "leader", cost: { kind: "linear", c: 1 }, policy: { kind: "fixed", quantity: 1 } },
        { id: "reader", role: "follower", cost: { kind: "linear", c: 1 }, policy: { kind: "mappo" } },
      ],
    });
    const ids = identitiesOf(exp, "r-1");
    expect(ids.map((i) => i.name)).toEqual(["market", "reader", "firm-market", "firm-reader"]);
    expect(new Set(ids.map((i) => i.inbox)).size).toBe(4);
    const ctde = ids.find((i) => i.name === "firm-reader")!;
    expect(allowed(ctde.permissions.subscribe, runSubjects("r-1").train)).toBe(true);
    // Under decentralized execution (an evaluation run) the server lets no firm read the training subject.
    const evaluation = parseExperiment({
      name: "ids",
      market: { demand: { kind: "linear", a: 100, b: 1 } },
      firms: [
        { id: "a", role: "leader", cost: { kind: "linear", c: 1 }, policy: { kind: "maddpg" } },
        { id: "b", role: "follower", cost: { kind: "linear", c: 1 }, policy: { kind: "mappo" } },
      ],
      training: { schedule: { kind: "evaluation" } },
    });
    for (const id of identitiesOf(evaluation, "r-1").filter((i) => i.identity.role === "firm"))
      expect(allowed(id.permissions.subscribe, runSubjects("r-1").train)).toBe(false);
    // And the market may publish on it only in a run where some firm reads it.
    const marketOf = (e: typeof exp) => identitiesOf(e, "r-1").find((i) => i.name === "market")!;
    expect(allowed(marketOf(exp).permissions.publish, runSubjects("r-1").train)).toBe(true);
    expect(allowed(marketOf(evaluation).permissions.publish, runSubjects("r-1").train)).toBe(false);
    expect(allowed(marketOf(evaluation).permissions.publish, runSubjects("r-1").outcome)).toBe(true);
  });
});

/** A bus that records every subject its owner publishes to and subscribes to. */
class Recording implements Bus {
  readonly published = new Set<string>();
  readonly subscribed = new Set<string>();
  replies = 0;
  private readonly conn: Bus;
  constructor(
    private readonly inner: MemoryBus,
    inboxPrefix = "_INBOX.mem",
  ) {
    this.conn = inner.connection(inboxPrefix);
  }
  publish(subject: string, data: Uint8Array): void {
    this.published.add(subject);
    this.inner.publish(subject, data);
  }
  subscribe(subject: string, handler: (msg: BusMessage) => void) {
    this.subscribed.add(subject);
    return this.inner.subscribe(subject, (m) =>
      handler({
        ...m,
        respond: (d) => {
          this.replies++;
          return m.respond(d);
        },
      }),
    );
  }
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.published.add(subject);
    return this.conn.request(subject, data, timeoutMs);
  }
  publishRecorded(subject: string, data: Uint8Array, opts: RecordOptions): void {
    this.published.add(subject);
    this.inner.publishRecorded(subject, data, opts);
  }
  record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<RecordAck> {
    this.published.add(subject);
    return this.inner.record(subject, data, opts);
  }
  flush() {
    return this.inner.flush();
  }
  close() {
    return Promise.resolve();
  }
}

describe("permissions and the real components", () => {
  it("permissions - a three-tier run played in-process uses only subjects its identities are allowed", async () => {
    const exp = parseExperiment({
      name: "perm-run",
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 3, episodes: 20, deadlineMs: 2000 },
      firms: [
        { id: "lead", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "mid", role: "follower", tier: 1, cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "low", role: "follower", tier: 2, cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 5 } },
      ],
    });
    const runId = "perm-run-1";
    const subj = runSubjects(runId);
    const mem = new MemoryBus();
    const marketBus = new Recording(mem);
    const market = new MarketService({ bus: marketBus, experiment: exp, runId, logger: silent });
    const done = market.run();
    const firmBuses = new Map<string, Recording>();
    const firms = exp.firms.map((f) => {
      const bus = new Recording(mem, subj.firmInbox(f.id));
      firmBuses.set(f.id, bus);
      return new FirmRuntime({ bus, runId, firmId: f.id, role: f.role, tier: f.tier, logger: silent, makePolicy: makePolicyFactory(exp, f, { logger: silent }) });
    });
    await Promise.all(firms.map((f) => f.start()));
    await done;
    await Promise.all(firms.map((f) => f.done()));
    await Promise.all(firms.map((f) => f.stop()));
    expect(market.stats.rounds).toBe(20);

    const check = (bus: Recording, who: Identity) => {
      const p = permissionsOf(subj, who);
      for (const x of bus.published) expect(allowed(p.publish, x), `${who.role} publishes ${x}`).toBe(true);
      for (const x of bus.subscribed) expect(allowed(p.subscribe, x), `${who.role} subscribes ${x}`).toBe(true);
    };
    check(marketBus, { role: "market" });
    expect(marketBus.replies).toBeGreaterThanOrEqual(6); // registration answers
    for (const f of exp.firms) {
      const bus = firmBuses.get(f.id)!;
      expect(bus.published.size).toBeGreaterThan(0);
      check(bus, { role: "firm", firmId: f.id, tier: f.tier, ctde: false });
    }
  });
});
