/**
 * Learning firms end to end: each firm a process with its own piscina pool, over a real nats-server
 * started by the launcher. Small budgets: the convergence figures come from experiments/ (see README).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { readRunAuth } from "../../services/auth/index.js";
import { runSubjects } from "../../services/bus/index.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startRunServer } from "../fixtures/secure.js";

const ppoDuopoly = (episodes: number, checkpointEvery = 0, deadlineMs = 30000, deterministic = true) =>
  writeExperiment({
    name: "ppo-small",
    seed: 4,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, episodes, quantityMax: 100, deadlineMs },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 20, evaluateRounds: 10 }, deterministic, checkpointEvery },
  });

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const p = spawnCli(args, { LOG_LEVEL: "info" });
  const code = await p.exit;
  return { code, out: p.output() };
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pid of the child of `parent` whose command line contains `needle`, or undefined. */
function childPid(parent: number, needle: string): number | undefined {
  const rows = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(parent)]).toString();
  const row = rows.split("\n").find((l) => l.includes(needle));
  return row === undefined ? undefined : Number(row.trim().split(/\s+/)[0]);
}

/** Rows of a JSON-lines file written while we read it: complete lines only, 0 while it is missing. */
function rowsIn(file: string): number {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0;
}

describe("learning run", () => {
  it("learning run - deterministic mode: the same seed gives byte-identical per-round metrics", async () => {
    const cfg = ppoDuopoly(60);
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), "stk-det-")));
    const a = await run(["run", cfg, "--out", dirs[0]!, "--no-progress"]);
    const b = await run(["run", cfg, "--out", dirs[1]!, "--no-progress"]);
    const c = await run(["run", cfg, "--out", dirs[2]!, "--no-progress", "--seed", "5"]);
    for (const r of [a, b, c]) expect(r.code, r.out).toBe(0);
    const ma = readFileSync(join(dirs[0]!, "metrics.jsonl"));
    const mb = readFileSync(join(dirs[1]!, "metrics.jsonl"));
    const mc = readFileSync(join(dirs[2]!, "metrics.jsonl"));
    expect(lines(join(dirs[0]!, "metrics.jsonl")).length).toBe(60);
    expect(ma.equals(mb)).toBe(true);
    expect(ma.equals(mc)).toBe(false);
    // metrics carry the learners' exploration scale and losses
    const row = JSON.parse(lines(join(dirs[0]!, "metrics.jsonl"))[30]!);
    expect(row.learners.leader.explorationStd).toBeGreaterThan(0);
    expect(typeof row.learners.follower.loss).toBe("number");
    const summary = JSON.parse(readFileSync(join(dirs[0]!, "summary.json"), "utf8"));
    expect(summary.learners.leader.samplesPerSecond).toBeGreaterThan(0);
    // the log names the backend chosen
    expect(readFileSync(join(dirs[0]!, "logs", "firm-leader.log"), "utf8")).toMatch(/"backend":"(tensorflow|wasm|cpu)"/);
  });

  it("learning run - default (asynchronous) mode: every firm in its own process, no row dropped, the lag within its bound", async () => {
    const out = mkdtempSync(join(tmpdir(), "stk-async-"));
    const r = await run(["run", ppoDuopoly(60, 0, 30000, false), "--out", out, "--no-progress"]);
    expect(r.code, r.out).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    // Phases: followers 0-20, leaders 20-40, followers 40-50, evaluation 50-60.
    for (const [id, trained] of [
      ["leader", 20],
      ["follower", 30],
    ] as const) {
      const m = summary.learners[id];
      expect(m.trainedRounds, id).toBe(trained);
      // Every row was trained on: the phase barrier installed each firm's last update before it
      // acted in the next phase, so by the last round nothing is in flight.
      expect(m.samples, id).toBe(trained * 32);
      expect(m.droppedRows, id).toBe(0);
      expect(m.policyLagMax, id).toBeLessThanOrEqual(1);
      expect(m.actWaitShare, id).toBeGreaterThanOrEqual(0);
      expect(m.actWaitShare, id).toBeLessThanOrEqual(1);
    }
    // Timing metrics are reported per round in the default mode.
    const row = JSON.parse(lines(join(out, "metrics.jsonl"))[30]!);
    expect(typeof row.learners.leader.actWaitMs).toBe("number");
  });

  it("learning run - a run stopped mid-way resumes from its checkpoints and completes every round once", async () => {
    const total = 400;
    const every = 10;
    // The deadline (an hour) cannot pass during the test: while the follower is frozen below, the
    // market waits for it instead of clearing rounds without it.
    const cfg = ppoDuopoly(total, every, 3_600_000);
    const out = mkdtempSync(join(tmpdir(), "stk-resume-"));
    const metrics = join(out, "metrics.jsonl");
    const checkpoint = (id: string) => join(out, "checkpoints", id, "policy.json");
    const first = spawnCli(["run", cfg, "--out", out, "--no-progress"], { LOG_LEVEL: "info" });
    let exited = false;
    void first.exit.then(() => (exited = true));
    // Wait for progress, not for time: a number of rounds and a checkpoint of each firm.
    const target = 60;
    while (rowsIn(metrics) < target || !existsSync(checkpoint("leader")) || !existsSync(checkpoint("follower"))) {
      if (exited) throw new Error(`the run ended before round ${target}:\n${first.output()}`);
      await sleep(50);
    }
    // Freeze the follower so the run cannot get far past this point, however fast the machine: the
    // market waits for the follower's submission, so at most the round in progress still clears.
    const launcher = first.proc.pid;
    const follower = launcher === undefined ? undefined : childPid(launcher, "--firm follower");
    if (launcher === undefined || follower === undefined)
      throw new Error(`no follower process under the launcher:\n${first.output()}`);
    process.kill(follower, "SIGSTOP");
    first.proc.kill("SIGINT");
    // The launcher stops its children; let the follower handle its stop signal (and save its
    // checkpoint) once the market is gone and no further round can clear. If the launcher has
    // already killed it, its periodic checkpoint stands.
    while (childPid(launcher, " market ") !== undefined) await sleep(50);
    try {
      process.kill(follower, "SIGCONT");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
    expect(await first.exit).toBe(130);
    const stoppedAt = rowsIn(metrics);
    expect(stoppedAt).toBeGreaterThanOrEqual(target);
    expect(stoppedAt).toBeLessThan(total);
    // What each learner had trained when saved, and how many rounds it had logged before the stop.
    const firms = ["leader", "follower"];
    const saved = firms.map((id) => JSON.parse(readFileSync(checkpoint(id), "utf8")).meta.trainedRounds as number);
    const logged = firms.map((id) => lines(join(out, "learners", `${id}.jsonl`)).length);
    // Fresh learners would count 0 or 1 trained rounds at their first round; for the check after the
    // resume to tell them apart the checkpoints must hold more, and they do: the first comes after
    // 10 rounds, each of which trained one of the two (alternating phases).
    expect(saved[0]! + saved[1]!).toBeGreaterThan(2);

    const second = await run(["run", "--resume", out, "--no-progress"]);
    expect(second.code, second.out).toBe(0);
    const rows = lines(metrics).map((l) => JSON.parse(l));
    expect(rows.map((r) => r.round)).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const id of firms)
      expect(readFileSync(join(out, "logs", `firm-${id}.log`), "utf8")).toMatch(/policy resumed from checkpoint/);
    // The learners carried on from their checkpoints, not from 0: the first round each observed
    // after the resume (its learner file is appended to) counts at least what its checkpoint held.
    firms.forEach((id, k) => {
      const resumed = JSON.parse(lines(join(out, "learners", `${id}.jsonl`))[logged[k]!]!);
      expect(resumed.round).toBeGreaterThanOrEqual(stoppedAt);
      expect(resumed.trainedRounds, id).toBeGreaterThanOrEqual(saved[k]!);
    });
    expect(execFileSync("ps", ["-eo", "args="]).toString()).not.toContain(out);
    // Resuming the complete run plays nothing and rebuilds the same results, from the recorded
    // outcomes even when the stats of the last rounds were lost.
    const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
    // The run's own server configuration (its stream lives in the run's account), plus an admin
    // identity of this test's in that account that may edit the stream.
    const runId = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).runId as string;
    const { server: store, connectAdmin } = await startRunServer({
      runId,
      manifest: readRunAuth(join(out, "auth")),
      storeDir: join(out, "nats-store"),
      confFile: join(out, "admin.conf"),
      subscribe: [],
    });
    try {
      const nc = await connectAdmin();
      const jsm = await jetstreamManager(nc);
      const s = runSubjects(runId);
      const last = await jsm.streams.getMessage(s.stream, { last_by_subj: s.stats });
      expect(last).not.toBeNull();
      await jsm.streams.deleteMessage(s.stream, last?.seq ?? 0);
      await nc.close();
    } finally {
      await store.stop();
    }
    const marketLog = readFileSync(join(out, "logs", "market.log"), "utf8");
    const third = await run(["run", "--resume", out, "--no-progress"]);
    expect(third.code, third.out).toBe(0);
    expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(before);
    expect(readFileSync(join(out, "logs", "market.log"), "utf8")).toBe(marketLog);
    expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).rounds).toBe(total);
    // Three runs of a few hundred rounds: a guard against a hang, generous for slow machines.
  }, 180_000);
});
