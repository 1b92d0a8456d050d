/**
 * Learning firms end to end: each firm a process with its own piscina pool, over a real nats-server
 * started by the launcher. Small budgets: the convergence figures come from experiments/ (see README).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { runSubjects } from "../../services/bus/index.js";
import { startNatsServer } from "../../services/launcher/nats-server.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";

const ppoDuopoly = (episodes: number, checkpointEvery = 0) =>
  writeExperiment({
    name: "ppo-small",
    seed: 4,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, episodes, quantityMax: 100, deadlineMs: 30000 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 20, evaluateRounds: 10 }, deterministic: true, checkpointEvery },
  });

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const p = spawnCli(args, { LOG_LEVEL: "info" });
  const code = await p.exit;
  return { code, out: p.output() };
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\n");
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

  it("learning run - a run stopped mid-way resumes from its checkpoints and completes every round once", async () => {
    const cfg = ppoDuopoly(400, 10);
    const out = mkdtempSync(join(tmpdir(), "stk-resume-"));
    const first = spawnCli(["run", cfg, "--out", out, "--no-progress"], { LOG_LEVEL: "info" });
    const until = Date.now() + 60_000;
    const recorded = () =>
      existsSync(join(out, "metrics.jsonl")) ? readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").length - 1 : 0;
    while (recorded() < 120 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    first.proc.kill("SIGINT");
    expect(await first.exit).toBe(130);
    const stoppedAt = recorded();
    expect(stoppedAt).toBeGreaterThan(100);
    expect(stoppedAt).toBeLessThan(400);
    expect(existsSync(join(out, "checkpoints", "leader", "policy.json"))).toBe(true);
    const second = await run(["run", "--resume", out, "--no-progress"]);
    expect(second.code, second.out).toBe(0);
    const rows = lines(join(out, "metrics.jsonl")).map((l) => JSON.parse(l));
    expect(rows.map((r) => r.round)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    const log = readFileSync(join(out, "logs", "firm-leader.log"), "utf8");
    expect(log).toMatch(/policy resumed from checkpoint/);
    // the learners carried on: trained rounds after the resume continue from the checkpoint, not from 0
    const after = rows.find((r) => r.round === stoppedAt + 5);
    const trained = after.learners.leader.trainedRounds + after.learners.follower.trainedRounds;
    expect(trained).toBeGreaterThan(50);
    expect(execFileSync("ps", ["-eo", "args="]).toString()).not.toContain(out);
    // Resuming the complete run plays nothing and rebuilds the same results, from the recorded
    // outcomes even when the stats of the last rounds were lost.
    const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
    const store = await startNatsServer({ storeDir: join(out, "nats-store") });
    try {
      const nc = await connect({ servers: store.url });
      const jsm = await jetstreamManager(nc);
      const runId = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).runId as string;
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
    expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).rounds).toBe(400);
  });
});
