/**
 * Faults survived, with real processes (the built `stackelberg market` / `firm`) on a real
 * nats-server with auth on: a firm killed and restarted from its checkpoint, the server stopped
 * and started again on the same store, the market killed and resumed (byte-identical to an
 * uninterrupted run in deterministic mode), and a 3-node cluster losing the record's leader node.
 * Each test prints its report (FAULT-REPORT line) from the run's JetStream record: every round
 * number exactly once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { decode, encode, type Outcome, runSubjects } from "../../services/bus/index.js";
import { loadExperiment } from "../../services/config/index.js";
import { followStats } from "../../services/report/record.js";
import { RoundOrder } from "../../services/report/round-order.js";
import { killLeftovers, type Spawned, spawnCli, writeExperiment } from "../fixtures/cli.js";
import { type FaultRun, logLines, readText, recordReport, startFaultRun, until } from "../fixtures/faults.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  killLeftovers();
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Starts the servers of a run of the experiment in `cfg`, torn down after the test. */
async function serve(cfg: string, runId: string, nodes = 1): Promise<FaultRun> {
  const run = await startFaultRun(loadExperiment(cfg), runId, { nodes });
  cleanup.push(() => run.stop());
  return run;
}

async function spy(run: FaultRun): Promise<NatsConnection> {
  const nc = await run.connectSpy();
  cleanup.push(() => nc.close());
  return nc;
}

/** Follows the outcome subject: the highest round seen so far. */
function follow(nc: NatsConnection, runId: string): { last: () => number; absent: (firm: string) => number } {
  let last = -1;
  const absent = new Map<string, number>();
  nc.subscribe(runSubjects(runId).outcome, {
    callback: (_e, m) => {
      const o = decode.outcome(m.data);
      last = Math.max(last, Number(o.round ?? -1));
      (o.firmIds ?? []).forEach((id, i) => {
        if ((o.absent ?? [])[i]) absent.set(id, (absent.get(id) ?? 0) + 1);
      });
    },
  });
  return { last: () => last, absent: (f) => absent.get(f) ?? 0 };
}

/**
 * Follows the run's stats through the fault, as `stackelberg run` does for metrics.jsonl: each
 * round once, in order. `end()` waits until `rounds` rounds came through and stops following.
 */
function followRecord(nc: NatsConnection, runId: string) {
  const order = new RoundOrder<number>();
  let following = true;
  const done = (async () => {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await followStats(jsm, runId, (batch) => void batch.forEach((st) => order.push(Number(st.round ?? 0), 0)), () => following);
  })();
  return {
    async end(rounds: number): Promise<number> {
      await Promise.race([until(() => order.nextRound >= rounds, "the stats of every round"), done]);
      following = false;
      await done;
      return order.nextRound;
    },
  };
}

const common = (cfg: string, run: FaultRun, nats = run.urls) => ["--config", cfg, "--nats", nats, "--run", run.runId, "--creds", run.creds];

async function exitsClean(procs: Spawned[]): Promise<void> {
  const codes = await Promise.all(procs.map((p) => p.exit));
  codes.forEach((c, i) => expect(c, procs[i]?.output().slice(-3000)).toBe(0));
}

/** An outcome as bytes without what differs between two runs of the same seed (run id, clock). */
const played = (o: Outcome) => Buffer.from(encode.outcome({ ...o, runId: "", clearedUnixMs: 0 })).toString("hex");

describe("faults", () => {
  it("faults - a firm killed with SIGKILL gets the default action on time; restarted with --resume it re-registers, reloads its checkpoint and acts again", async () => {
    const rounds = 3000;
    const cfg = writeExperiment({
      name: "faults-firm",
      seed: 3,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        batch: 4,
        roundsPerEpisode: 1000,
        episodes: rounds / 1000,
        quantityMax: 100,
        // While the follower is dead, each round waits this long for it, then clears without it;
        // it is never evicted, so every such round shows it absent.
        deadlineMs: 300,
        maxMisses: 1_000_000,
        defaultAction: "last",
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning", grid: { steps: 41 } } },
      ],
      training: { checkpointEvery: 100 },
    });
    const run = await serve(cfg, `kill-firm-${process.pid}`);
    const nc = await spy(run);
    const seen = follow(nc, run.runId);
    const out = mkdtempSync(join(tmpdir(), "stk-faults-out-"));
    cleanup.push(() => rmSync(out, { recursive: true, force: true }));
    const market = spawnCli(["market", ...common(cfg, run)]);
    const leader = spawnCli(["firm", ...common(cfg, run), "--firm", "leader"]);
    const firmArgs = ["firm", ...common(cfg, run), "--firm", "follower", "--out", out];
    const first = spawnCli(firmArgs);
    const checkpoint = join(out, "checkpoints", "follower", "policy.json");
    await until(() => existsSync(checkpoint) && seen.last() >= 100, "the follower's first checkpoint");
    first.proc.kill("SIGKILL");
    await first.exit;
    const killedAt = seen.last();
    const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as { meta: { trainedRounds: number } };
    expect(saved.meta.trainedRounds).toBeGreaterThan(0);
    // The market goes on without it: rounds clear at their deadline with the default action.
    await until(() => seen.absent("follower") >= 3, "rounds cleared without the dead follower");
    expect(seen.last()).toBeLessThan(rounds - 1);
    const second = spawnCli([...firmArgs, "--resume"], { LOG_LEVEL: "info" });
    await exitsClean([market, leader, second]);

    const resumed = logLines(second.output(), "policy resumed from checkpoint");
    expect(resumed, second.output().slice(0, 3000)).toHaveLength(1);
    expect(resumed[0]?.loaded).toBe(true);
    expect(logLines(second.output(), "firm registered")).toHaveLength(1);

    const { report, record } = await recordReport(nc, run.runId, rounds, "firm SIGKILL + restart --resume", 1);
    expect(report.lost).toBe(0);
    expect(report.clearedTwice).toBe(0);
    const f = (record[0]?.firmIds ?? []).indexOf("follower");
    const B = 4;
    const absent = record.map((o) => Boolean((o.absent ?? [])[f]));
    // The gap: absent from the kill on, every round, until the restarted firm's first move.
    let gapStart = absent.indexOf(true, Math.max(0, killedAt - 5));
    let gapEnd = absent.indexOf(false, gapStart) - 1;
    // (a deadline missed just before the kill is not the gap)
    while (gapStart >= 0 && gapEnd - gapStart < 2 && gapStart <= killedAt) {
      gapStart = absent.indexOf(true, gapEnd + 1);
      gapEnd = absent.indexOf(false, gapStart) - 1;
    }
    expect(gapStart).toBeGreaterThan(100); // after the checkpoint it reloaded
    expect(gapStart).toBeLessThanOrEqual(killedAt + 1);
    expect(gapEnd - gapStart + 1).toBeGreaterThanOrEqual(3);
    // ...then acting again: present in nearly every later round (a freshly started process on a
    // loaded machine may still miss a deadline now and then).
    const later = absent.slice(gapEnd + 1);
    expect(later.length).toBeGreaterThan(1000);
    expect(later.filter((a) => !a).length).toBeGreaterThan(0.95 * later.length);
    // The default action "last": an absent round repeats the follower's previous quantities (0 at an episode start).
    absent.forEach((a, r) => {
      const q = (o: Outcome | undefined) => (o?.quantities ?? []).slice(f * B, (f + 1) * B);
      if (a) expect(q(record[r])).toEqual(r % 1000 === 0 ? [0, 0, 0, 0] : q(record[r - 1]));
    });
    console.log(`firm fault: killed near round ${killedAt}; absent rounds ${gapStart}-${gapEnd}, ${absent.filter(Boolean).length} in all; checkpoint of ${saved.meta.trainedRounds} trained rounds reloaded`);
  }, 120_000);

  it("faults - the nats-server stopped for 3 s and started again on the same store: every process reconnects, nothing lost, nothing cleared twice, no firm marked absent", async () => {
    const rounds = 2000;
    const cfg = writeExperiment({
      name: "faults-server",
      seed: 5,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        dynamics: { shock: { rho: 0.8, sigma: 1 } },
        batch: 2,
        roundsPerEpisode: 100,
        episodes: rounds / 100,
        quantityMax: 100,
        // Far longer than the outage: a round the gap interrupts must be finished by re-sending,
        // not by its deadline (an absent firm fails the test).
        deadlineMs: 15_000,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "f1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "f2", role: "follower", cost: { kind: "linear", c: 12 }, policy: { kind: "best-response" } },
      ],
    });
    const run = await serve(cfg, `bounce-${process.pid}`);
    const nc = await spy(run);
    const seen = follow(nc, run.runId);
    const stats = followRecord(nc, run.runId);
    const env = { LOG_LEVEL: "info" };
    const market = spawnCli(["market", ...common(cfg, run)], env);
    const firms = ["leader", "f1", "f2"].map((id) => spawnCli(["firm", ...common(cfg, run), "--firm", id], env));
    await until(() => seen.last() >= 300, "round 300");
    const node = run.nodes[0]!;
    await node.stop("SIGTERM");
    const stoppedAt = seen.last();
    await new Promise((r) => setTimeout(r, 3000));
    await node.start();
    await exitsClean([market, ...firms]);
    for (const p of [market, ...firms]) expect(logLines(p.output(), "NATS reconnected").length, p.output().slice(-2000)).toBeGreaterThan(0);
    // The market held the round in progress, checked the record and asked again.
    const back = logLines(market.output(), "connection to NATS back: record checked, the round goes on");
    expect(back.length).toBeGreaterThan(0);
    console.log(`server fault: stopped near round ${stoppedAt}; market back: ${JSON.stringify(back.map((b) => ({ round: b.round, republished: b.republished, askedAgain: b.askedAgain })))}`);
    // A live reader of the record (what `stackelberg run` follows for metrics.jsonl) came through too.
    expect(await stats.end(rounds)).toBe(rounds);
    const { report } = await recordReport(nc, run.runId, rounds, "nats-server stopped 3 s, restarted on the same store", 1);
    expect(report.lost).toBe(0);
    expect(report.clearedTwice).toBe(0);
    expect(report.absentRounds).toBe(0);
    expect(stoppedAt).toBeLessThan(rounds - 1);
  }, 120_000);

  it("faults - the market killed with SIGKILL and restarted with --resume: in deterministic mode the run's outcomes and learner metrics equal an uninterrupted run's, byte for byte", async () => {
    const rounds = 1500;
    const raw = {
      name: "faults-market",
      seed: 11,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        dynamics: { shock: { rho: 0.5, sigma: 2 } },
        batch: 8,
        roundsPerEpisode: 50,
        episodes: rounds / 50,
        quantityMax: 100,
        // No deadline fires: a frozen firm holds the round in progress while the market is killed.
        deadlineMs: 3_600_000,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning", grid: { steps: 41 } } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning", grid: { steps: 41 } } },
      ],
      training: { deterministic: true },
    };
    const cfg = writeExperiment(raw);
    const play = async (runId: string, fault: boolean) => {
      const run = await serve(cfg, runId);
      const nc = await spy(run);
      const seen = follow(nc, runId);
      const out = mkdtempSync(join(tmpdir(), "stk-faults-out-"));
      cleanup.push(() => rmSync(out, { recursive: true, force: true }));
      const args = common(cfg, run);
      let market = spawnCli(["market", ...args]);
      const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...args, "--firm", id, "--out", out]));
      let killedAt = -1;
      if (fault) {
        await until(() => seen.last() >= 400, "round 400");
        // Freeze the follower so the kill lands inside a round (the leader has answered, the
        // follower has not), whatever the machine's speed.
        firms[1]?.proc.kill("SIGSTOP");
        market.proc.kill("SIGKILL");
        await market.exit;
        killedAt = seen.last();
        firms[1]?.proc.kill("SIGCONT");
        market = spawnCli(["market", ...args, "--resume"], { LOG_LEVEL: "info" });
        expect(logLines(await market.exit.then(() => market.output()), "market resumed from the record")).toHaveLength(1);
      }
      await exitsClean([market, ...firms]);
      const { report, record } = await recordReport(nc, runId, rounds, fault ? "market SIGKILL + restart --resume" : "none (reference run)", fault ? 1 : 0);
      expect(report.lost).toBe(0);
      expect(report.clearedTwice).toBe(0);
      expect(report.absentRounds).toBe(0);
      const learners = ["leader", "follower"].map((id) => readText(join(out, "learners", `${id}.jsonl`)));
      return { record, learners, killedAt };
    };
    const reference = await play(`det-ref-${process.pid}`, false);
    const faulty = await play(`det-kill-${process.pid}`, true);
    expect(faulty.killedAt).toBeGreaterThan(0);
    expect(faulty.killedAt).toBeLessThan(rounds - 1);
    // The firms' learning state went on across the market's restart exactly as without it.
    expect(faulty.record.map(played)).toEqual(reference.record.map(played));
    for (const [i, text] of faulty.learners.entries()) {
      expect(text.split("\n").filter(Boolean)).toHaveLength(rounds);
      expect(text === reference.learners[i]).toBe(true);
    }
  }, 120_000);

  it("faults - a 3-node NATS cluster (record replicated 3 times) loses the record's leader node mid-run: the run completes on the other two, every round recorded once", async () => {
    const rounds = 2000;
    const cfg = writeExperiment({
      name: "faults-cluster",
      seed: 2,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2, roundsPerEpisode: 100, episodes: rounds / 100, quantityMax: 100, deadlineMs: 15_000 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
      ],
    });
    const run = await serve(cfg, `cluster-${process.pid}`, 3);
    const nc = await spy(run);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    // The cluster's JetStream answers once its meta group has a leader.
    await until(async () => jsm.getAccountInfo().then(() => true, () => false), "JetStream of the cluster");
    const seen = follow(nc, run.runId);
    const stats = followRecord(nc, run.runId);
    const env = { LOG_LEVEL: "info" };
    const market = spawnCli(["market", ...common(cfg, run), "--replicas", "3"], env);
    const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...common(cfg, run), "--firm", id], env));
    await until(() => seen.last() >= 300, "round 300");
    const info = await jsm.streams.info(runSubjects(run.runId).stream);
    expect(info.config.num_replicas).toBe(3);
    const leaderName = info.cluster?.leader;
    const victim = run.nodes.find((n) => n.name === leaderName);
    expect(victim, `stream leader ${leaderName}`).toBeDefined();
    await victim?.stop("SIGKILL");
    const killedAt = seen.last();
    await exitsClean([market, ...firms]);
    expect(await stats.end(rounds)).toBe(rounds);
    const { report } = await recordReport(nc, run.runId, rounds, "cluster node (stream leader) SIGKILL", 1);
    expect(report.lost).toBe(0);
    expect(report.clearedTwice).toBe(0);
    expect(killedAt).toBeLessThan(rounds - 1);
    const after = await jsm.streams.info(runSubjects(run.runId).stream);
    expect(after.cluster?.leader).not.toBe(leaderName);
    const back = logLines(market.output(), "connection to NATS back: record checked, the round goes on");
    console.log(
      `cluster fault: killed ${leaderName} near round ${killedAt}; new stream leader ${after.cluster?.leader}; market repairs: ${JSON.stringify(back.map((b) => ({ round: b.round, republished: b.republished, askedAgain: b.askedAgain })))}`,
    );
  }, 120_000);
});
