/**
 * The trusted bus, attacked as an outside client would attack it: a real nats-server configured by
 * `stackelberg auth`, the market and firms as real processes with their own credentials, and an
 * attacker with no credentials, wrong credentials, or one firm's credentials. A test-only spy
 * identity that may read every subject counts what the server actually delivered.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect, type NatsConnection, nkeyAuthenticator, PermissionViolationError } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlKind, decode, encode, PROTOCOL_VERSION, Role, runSubjects } from "../../services/bus/index.js";
import { parseExperiment } from "../../services/config/index.js";
import { readRecord } from "../../services/report/record.js";
import { type Spawned, spawnCli, writeExperiment } from "../fixtures/cli.js";
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

/** The run's processes, each with its own credentials. */
function startProcesses(sec: SecureRun, runId: string): { market: Spawned; firms: Spawned[] } {
  const cfg = writeExperiment(raw);
  const args = ["--config", cfg, "--nats", sec.url, "--run", runId];
  return {
    market: spawnCli(["market", ...args, "--creds", sec.creds("market")]),
    firms: ["leader", "follower"].map((id) => spawnCli(["firm", ...args, "--firm", id, "--creds", sec.creds(`firm-${id}`)])),
  };
}

/** Follows the outcome subject as the spy: the last cleared round. */
function follow(spy: NatsConnection, runId: string) {
  const state = { last: -1 };
  spy.subscribe(runSubjects(runId).outcome, { callback: (_e, m) => (state.last = Number(decode.outcome(m.data).round ?? 0)) });
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
      mallory.subscribe(subject, { callback: (e, m) => (e ? subErrors.push(subject) : overheard.push(m.subject)) });
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
    const reader = await sec.connectAs("reader");
    const readerDenied = violations(reader);
    const rjsm = await jetstreamManager(reader, { timeout: 2000 });
    expect((await rjsm.streams.info(s.stream)).config.name).toBe(s.stream);
    const readerFailures: string[] = [];
    for (const call of [() => rjsm.streams.delete(s.stream), () => rjsm.streams.purge(s.stream)])
      await call().then(
        () => {},
        (e: Error) => readerFailures.push(e.message),
      );
    reader.publish(s.outcome, encode.outcome({ runId: MARK }));
    reader.publish(s.control, encode.control({ runId: MARK, kind: ControlKind.END_OF_RUN }));
    await reader.flush();
    await until(() => readerDenied.length >= 2 + 2, "the reader's permission errors");
    expect(readerFailures).toHaveLength(2);

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
    await spy.close();
    // eslint-disable-next-line no-console
    console.info(
      `trusted bus: ${refused.length} connections refused, ${publishes} forged publications and ${eavesdrop.length} subscriptions refused by the server, ${jsFailures.length + readerFailures.length} stream calls refused, ${delivered.length} forged messages delivered, ${record.length} rounds recorded`,
    );
  });
});
