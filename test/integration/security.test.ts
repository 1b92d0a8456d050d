/**
 * The trusted bus, attacked as an outside client would attack it: a real nats-server configured by
 * `stackelberg auth`, the market and firms as real processes with their own credentials, and an
 * attacker with no credentials, wrong credentials, or one firm's credentials. A test-only spy
 * identity that may read every subject counts what the server actually delivered.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect, type NatsConnection, nkeyAuthenticator, PermissionViolationError } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../market/economics/index.js";
import { ControlKind, decode, encode, PROTOCOL_VERSION, Role, runSubjects } from "../../services/bus/index.js";
import { parseExperiment } from "../../services/config/index.js";
import { readRecord, recordManager } from "../../services/report/record.js";
import { killLeftovers, type Spawned, spawnCli, writeExperiment } from "../fixtures/cli.js";
import { type SecureRun, startSecureRun } from "../fixtures/secure.js";

const raw = {
  name: "secure",
  seed: 4,
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 4, episodes: 1_000_000, quantityMax: 100, deadlineMs: 3000 },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
};
const exp = parseExperiment(raw);
const MARK = "FORGED-BY-ATTACKER";

afterEach(killLeftovers);

/** The run's processes, each with its own credentials. */
function startProcesses(sec: SecureRun, runId: string, env: Record<string, string> = {}): { market: Spawned; firms: Spawned[] } {
  const cfg = writeExperiment(raw);
  const args = ["--config", cfg, "--nats", sec.url, "--run", runId];
  const market = spawnCli(["market", ...args, "--creds", sec.creds("market")], env);
  const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...args, "--firm", id, "--creds", sec.creds(`firm-${id}`)], env));
  return { market, firms };
}

/** Follows the outcome subject as the spy: the last cleared round. */
function follow(spy: NatsConnection, runId: string) {
  const state = { last: -1 };
  spy.subscribe(runSubjects(runId).outcome, {
    callback: (_e, m) => {
      state.last = Number(decode.outcome(m.data).round ?? 0);
    },
  });
  return {
    get last() {
      return state.last;
    },
    async reach(round: number) {
      while (state.last < round) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

/** Permission violations the server reported to a connection. */
function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status())
      if (s.type === "error" && s.error instanceof PermissionViolationError) seen.push(`${s.error.operation} ${s.error.subject}`);
  })();
  return seen;
}

async function stopRun(p: { market: Spawned; firms: Spawned[] }): Promise<number[]> {
  p.market.proc.kill("SIGTERM");
  return Promise.all([p.market.exit, ...p.firms.map((f) => f.exit)]);
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("trusted bus", () => {
  const runId = "secure-1";
  const s = runSubjects(runId);
  let sec: SecureRun;
  beforeAll(async () => {
    sec = await startSecureRun(exp, runId);
  });
  afterAll(async () => {
    await sec?.stop();
  });

  it("trusted bus - clients without or with wrong credentials are refused; one firm's credentials cannot forge, eavesdrop or touch the record", async () => {
    const spy = await sec.connectSpy();
    const delivered: string[] = [];
    // Every message the server delivers on the run's subjects and inboxes, as the spy sees it.
    spy.subscribe(">", {
      callback: (_e, m) => {
        if (Buffer.from(m.data).includes(MARK)) delivered.push(m.subject);
      },
    });
    const controls: number[] = [];
    spy.subscribe(s.control, { callback: (_e, m) => void controls.push(decode.control(m.data).kind ?? -1) });
    let leaderRejects = 0;
    spy.subscribe(s.reject("leader"), { callback: () => void leaderRejects++ });
    const progress = follow(spy, runId);
    const procs = startProcesses(sec, runId);
    await progress.reach(20);

    // 1. No credentials, and credentials the server does not know.
    const refused: string[] = [];
    await connect({ servers: sec.url, reconnect: false }).then(
      (nc) => nc.close(),
      (e: Error) => refused.push(`none: ${e.message}`),
    );
    const stranger = createUser();
    await connect({ servers: sec.url, reconnect: false, authenticator: nkeyAuthenticator(stranger.getSeed()) }).then(
      (nc) => nc.close(),
      (e: Error) => refused.push(`unknown nkey: ${e.message}`),
    );
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r).toMatch(/authori[sz]ation/i);

    // 2. The follower's own credentials, used for everything a follower may not do.
    const mallory = await sec.connectAs("firm-follower");
    const denied = violations(mallory);
    const forged = {
      [s.submit("leader")]: encode.submission({ runId: MARK, firmId: "leader", round: progress.last + 1, quantities: [7, 7, 7, 7] }),
      [s.register("leader")]: encode.register({ protocolVersion: PROTOCOL_VERSION, firmId: "leader", role: Role.ROLE_LEADER, tier: 0, capabilities: [MARK] }),
      [s.outcome]: encode.outcome({ runId: MARK, round: progress.last + 1, batch: 4 }),
      [s.control]: encode.control({ runId: MARK, kind: ControlKind.END_OF_RUN, reason: MARK }),
      [s.move(0)]: encode.move({ runId: MARK, round: progress.last + 1, tier: 0 }),
      [s.move(1)]: encode.move({ runId: MARK, round: progress.last + 1, tier: 1 }),
      [s.stats]: encode.stats({ rounds: [{ firmIds: [MARK] }] }),
      [s.reject("leader")]: encode.reject({ firmId: "leader", detail: MARK }),
      [s.train]: encode.training({ runId: MARK }),
      [`$JS.API.STREAM.DELETE.${s.stream}`]: new TextEncoder().encode(MARK),
      [`$JS.API.STREAM.PURGE.${s.stream}`]: new TextEncoder().encode(MARK),
    };
    const rounds = 5;
    for (let i = 0; i < rounds; i++) for (const [subject, data] of Object.entries(forged)) mallory.publish(subject, data);
    const eavesdrop = [s.reject("leader"), s.move(0), s.train, "_INBOX.>", `${s.inbox({ role: "market" })}.>`, `stk.${runId}.>`, ">"];
    const overheard: string[] = [];
    const subErrors: string[] = [];
    for (const subject of eavesdrop)
      mallory.subscribe(subject, {
        callback: (e, m) => {
          if (e) subErrors.push(subject);
          else overheard.push(m.subject);
        },
      });
    await mallory.flush();
    const publishes = Object.keys(forged).length * rounds;
    await until(() => denied.length >= publishes + eavesdrop.length, "the server's permission errors");
    // The stream, through the JetStream API: every call refused.
    const jsFailures: string[] = [];
    const jsm = await jetstreamManager(mallory, { checkAPI: false, timeout: 2000 });
    for (const call of [
      () => jsm.streams.info(s.stream),
      () => jsm.streams.delete(s.stream),
      () => jsm.streams.purge(s.stream),
      () => jsm.consumers.add(s.stream, { name: "mallory" }),
    ])
      await call().then(
        () => {},
        (e: Error) => jsFailures.push(e.message),
      );
    expect(jsFailures).toHaveLength(4);

    // The reader's credentials read the record but cannot change it.
    // The reader's credentials read the record (direct gets through its own account's imports)
    // but cannot change it, create consumers, or aim replies at the run's subjects.
    const reader = await sec.connectAs("reader");
    const readerDenied = violations(reader);
    const rjsm = await recordManager(reader, runId, true);
    expect((await rjsm.streams.info(s.stream)).config.name).toBe(s.stream);
    expect((await readRecord(reader, runId, { asReader: true })).length).toBeGreaterThan(20);
    const readerFailures: string[] = [];
    const plain = await jetstreamManager(reader, { checkAPI: false, timeout: 2000 });
    for (const call of [
      () => rjsm.streams.delete(s.stream),
      () => rjsm.streams.purge(s.stream),
      () => plain.streams.info(s.stream),
      // A push consumer delivering the record onto the control subject (a replay as END_OF_RUN).
      () => plain.consumers.add(s.stream, { name: "replay", deliver_subject: s.control }),
    ])
      await call().then(
        () => {},
        (e: Error) => readerFailures.push(e.message),
      );
    reader.publish(s.outcome, encode.outcome({ runId: MARK }));
    reader.publish(s.control, encode.control({ runId: MARK, kind: ControlKind.END_OF_RUN }));
    // Direct gets answered on the run's subjects: the answers land in the reader's own account.
    for (let seq = 1; seq <= 5; seq++)
      for (const reply of [s.control, s.outcome, s.move(1)])
        reader.publish(`${s.recordApi}.DIRECT.GET.${s.stream}`, new TextEncoder().encode(JSON.stringify({ seq })), { reply });
    await reader.flush();
    await until(() => readerDenied.length >= 4 + 2, "the reader's permission errors");
    expect(readerFailures).toHaveLength(4);
    // One firm's Register naming a protocol subject or another firm's inbox as its reply subject:
    // the market answers only in the sender's own inbox.
    let leaderInbox = 0;
    spy.subscribe(`${s.firmInbox("leader")}.>`, { callback: () => void leaderInbox++ });
    await spy.flush();
    for (const reply of [s.outcome, s.control, s.reject("leader"), s.stats, `${s.firmInbox("leader")}.x`, `${s.inbox({ role: "market" })}.x`])
      mallory.publish(s.register("follower"), new Uint8Array([0xff, 0xff]), { reply });
    await mallory.flush();

    const at = progress.last;
    await progress.reach(at + 20); // the run goes on
    const codes = await stopRun(procs);
    expect(codes).toEqual([0, 0, 0]);
    await mallory.close();
    await reader.close();

    // Nothing forged reached anyone: the spy (subscribed to everything) saw no marked message, the
    // attacker's subscriptions heard nothing, and every recorded outcome is the equilibrium's.
    expect(delivered).toEqual([]);
    expect(overheard).toEqual([]);
    // (the JetStream calls above add one more each on the stream API subjects)
    for (const subject of Object.keys(forged)) expect(denied.filter((d) => d === `publish ${subject}`).length).toBeGreaterThanOrEqual(rounds);
    for (const subject of eavesdrop) expect(denied).toContain(`subscription ${subject}`);
    expect([...subErrors].sort()).toEqual([...eavesdrop].sort());
    const record = await readRecord(spy, runId);
    expect(record.length).toBeGreaterThan(at + 20);
    record.forEach((o, i) => {
      expect(Number(o.round)).toBe(i);
      expect(o.runId).toBe(runId);
      expect(Array.from(o.quantities ?? []).map((q) => Math.round(q * 1e6) / 1e6)).toEqual([22.5, 22.5, 22.5, 22.5, 45, 45, 45, 45]);
    });
    const info = await (await jetstreamManager(spy)).streams.info(s.stream, { subjects_filter: ">" });
    expect(info.state.subjects?.[s.outcome]).toBe(record.length); // no foreign message in the record
    // Run control as the market sent it: one END_OF_RUN (at the stop), nothing replayed onto it.
    expect(controls.filter((k) => k === ControlKind.END_OF_RUN)).toHaveLength(1);
    expect(controls[controls.length - 1]).toBe(ControlKind.END_OF_RUN);
    expect(leaderRejects).toBe(0);
    expect(leaderInbox).toBe(0);
    await spy.close();
    console.info(
      `trusted bus: ${refused.length} connections refused, ${publishes} forged publications and ${eavesdrop.length} subscriptions refused by the server, ${jsFailures.length + readerFailures.length} stream calls refused, 15 reader replies and 6 Register replies aimed at run subjects or other inboxes, ${delivered.length} forged messages delivered, ${controls.length} control messages (all the market's), ${record.length} rounds recorded`,
    );
  });
});

/** Junk of every shape, from a seeded generator (the same payloads every run). */
function junkPayloads(n: number, round: () => number): Array<{ kind: string; data: Uint8Array }> {
  const rng = Rng.fromName(7, "fuzz");
  const int = (k: number) => Math.floor(rng.next() * k);
  const bytes = (len: number) => Uint8Array.from({ length: len }, () => int(256));
  const valid = () => encode.submission({ runId: "secure-2", firmId: "follower", round: round(), quantities: [1, 2, 3, 4] });
  const nestedGroups = (depth: number) => Uint8Array.from([...new Array(depth).fill(0x0b), ...new Array(depth).fill(0x0c)]);
  const nestedMessages = (depth: number): Uint8Array => {
    let inner = new Uint8Array(0);
    for (let d = 0; d < depth; d++) {
      const len = inner.length;
      const varint: number[] = [];
      for (let v = len; ; v >>>= 7) {
        if (v < 0x80) {
          varint.push(v);
          break;
        }
        varint.push((v & 0x7f) | 0x80);
      }
      inner = Uint8Array.from([0x7a, ...varint, ...inner]); // field 15, length-delimited
    }
    return inner;
  };
  const huge = (k: number) => "x".repeat(k);
  const groups = nestedGroups(20_000);
  const messages = nestedMessages(2_000);
  const makers: Array<[string, () => Uint8Array]> = [
    ["random", () => bytes(int(512))],
    ["truncated", () => valid().slice(0, int(valid().length))],
    [
      "bit-flipped",
      () => {
        const b = valid();
        for (let i = 1 + int(8); i > 0; i--) b[int(b.length)] ^= 1 << int(8);
        return b;
      },
    ],
    ["oversize batch", () => encode.submission({ firmId: "follower", round: round(), quantities: new Array(7000).fill(1) })],
    ["huge string", () => encode.submission({ runId: huge(50_000), firmId: huge(10_000), round: round(), quantities: [1, 1, 1, 1] })],
    ["huge register", () => encode.register({ protocolVersion: 1, firmId: "follower", role: Role.ROLE_FOLLOWER, tier: 1, capabilities: [huge(40_000), ...new Array(1000).fill("cap")] })],
    ["nested groups", () => groups],
    ["nested messages", () => messages],
    ["bad numbers", () => encode.submission({ firmId: "follower", round: round(), quantities: [Number.NaN, Number.POSITIVE_INFINITY, -1, 1e300] })],
    ["wrong message", () => encode.control({ runId: "secure-2", kind: ControlKind.END_OF_RUN, reason: huge(1000) })],
  ];
  return Array.from({ length: n }, (_, i) => {
    const [kind, make] = makers[i % makers.length]!;
    return { kind, data: make() };
  });
}

describe("hostile input", () => {
  const runId = "secure-2";
  const s = runSubjects(runId);
  let sec: SecureRun;
  beforeAll(async () => {
    sec = await startSecureRun(exp, runId);
  });
  afterAll(async () => {
    await sec?.stop();
  });

  it("hostile input - 15,000 malformed payloads and a 330,000-message flood on a firm's own subjects: no crash, every round clears, bounded logs", async () => {
    const spy = await sec.connectSpy();
    const progress = follow(spy, runId);
    // The default log level (info), as users run it.
    const procs = startProcesses(sec, runId, { LOG_LEVEL: "info" });
    await progress.reach(20);
    const mallory = await sec.connectAs("firm-follower");
    const denied = violations(mallory);
    const logBytes = () => procs.market.output().length + procs.firms.reduce((n, f) => n + f.output().length, 0);
    const before = logBytes();
    const startRound = progress.last;
    // A registration request with junk gets a named reject back, in the firm's own inbox.
    const reply = decode.registerReply((await mallory.request(s.register("follower"), new Uint8Array([0xff, 0xff, 0xff]), { timeout: 5000 })).data);
    expect(reply.accepted).toBe(false);
    expect(reply.reject?.code).toBe(5); // MALFORMED
    const junk = junkPayloads(12_000, () => progress.last + 1);
    let sent = 0;
    for (const [i, j] of junk.entries()) {
      // Most junk goes to the submit subject, every fifth to the register subject (fire and forget).
      mallory.publish(i % 5 === 4 ? s.register("follower") : s.submit("follower"), j.data);
      sent++;
      if (i % 500 === 499) await mallory.flush();
    }
    await mallory.flush();
    // Registers naming reply subjects: protocol subjects (ignored), inboxes the market may not
    // answer in (the server refuses each answer), another firm's inbox.
    const replies = [s.outcome, "_INBOX.elsewhere", `${s.inbox({ role: "firm", firmId: "leader", tier: 0, ctde: false })}.x`];
    for (let i = 0; i < 3000; i++) {
      mallory.publish(s.register("follower"), junk[i]!.data, { reply: `${replies[i % 3]}${i % 3 === 0 ? "" : `.${i}`}` });
      sent++;
    }
    await mallory.flush();
    // A flood: 300,000 three-byte messages and 30,000 valid Registers as fast as the client sends
    // them. Over the firm's budget they are dropped before decoding; the run goes on.
    const tiny = new Uint8Array([1, 2, 3]);
    const validRegister = encode.register({ protocolVersion: PROTOCOL_VERSION, firmId: "follower", role: Role.ROLE_FOLLOWER, tier: 1, preparing: true });
    const inbox = s.firmInbox("follower");
    for (let i = 0; i < 330_000; i++) {
      if (i % 11 === 10) mallory.publish(s.register("follower"), validRegister, { reply: `${inbox}.flood.${i}` });
      else mallory.publish(s.submit("follower"), tiny);
      sent++;
      if (i % 10_000 === 9_999) await mallory.flush();
    }
    await mallory.flush();
    const fuzzEnd = progress.last;
    await progress.reach(fuzzEnd + 20);
    const codes = await stopRun(procs);
    // Everything written since the fuzz began, the end-of-run lines included (an overestimate).
    const logged = logBytes() - before;
    await mallory.close();

    expect(denied).toEqual([]); // its own subjects: the server let everything through to the market
    expect(codes).toEqual([0, 0, 0]);
    const output = [procs.market, ...procs.firms].map((p) => p.output()).join("\n");
    expect(output).not.toMatch(/\n\s+at /); // no stack trace anywhere
    const longest = Math.max(...output.split("\n").map((l) => l.length));
    expect(longest).toBeLessThan(2000);
    expect(logged / sent).toBeLessThan(16);
    const record = await readRecord(spy, runId);
    record.forEach((o, i) => expect(Number(o.round)).toBe(i));
    expect(record.length).toBeGreaterThan(fuzzEnd + 20);
    await spy.close();
    console.info(
      `hostile input: ${sent} junk payloads (${new Set(junk.map((j) => j.kind)).size} kinds of junk, then a flood), rounds ${startRound}-${fuzzEnd} cleared during the fuzz, ${record.length} recorded in order, 0 crashes, ${logged} log bytes (${(logged / sent).toFixed(2)} per junk message, longest line ${longest} chars)`,
    );
  });
});
