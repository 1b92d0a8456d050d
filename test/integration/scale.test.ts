/**
 * Scale: `stackelberg run` packs 1 leader + 200 followers into 4 firm host processes (--hosts 4) on
 * its own nats-server with nkey auth (one identity per firm), and every firm acts in every round:
 * no absence in the record's statistics (the summary) nor in any round's metrics, each firm's log
 * lines in its own file. Also: a dying host's error names it and its firms.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killLeftovers, spawnCli, writeExperiment } from "../fixtures/cli.js";

afterEach(() => killLeftovers());

const FOLLOWERS = 200;
const ROUNDS = 20;
const followers = Array.from({ length: FOLLOWERS }, (_, i) => `f${String(i).padStart(3, "0")}`);

describe("scale", () => {
  it("scale - 1 leader + 200 followers over 4 firm processes with auth on: every firm acts every round", { timeout: 240_000 }, async () => {
    const file = writeExperiment({
      name: "scale-200",
      market: {
        demand: { kind: "linear", a: 1000, b: 1 },
        batch: 4,
        episodes: ROUNDS,
        quantityMax: 1000,
        // Generous: a loaded machine must not turn slowness into absences (the test asserts none).
        deadlineMs: 120_000,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 400 } },
        ...followers.map((id) => ({ id, role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 2 } })),
      ],
    });
    const out = mkdtempSync(join(tmpdir(), "stk-scale-"));
    const run = spawnCli(["run", file, "--hosts", "4", "--out", out, "--json"], { LOG_LEVEL: "info" });
    const code = await run.exit;
    expect(code, run.output().slice(-3000)).toBe(0);
    const { summary } = JSON.parse(run.output().trim().split("\n").pop() ?? "{}") as {
      summary: { rounds: number; absences: number; final: { firms: Record<string, { absent: boolean }> } };
    };
    expect(summary.rounds).toBe(ROUNDS);
    expect(summary.absences).toBe(0);
    expect(Object.keys(summary.final.firms).length).toBe(FOLLOWERS + 1);
    // Every round, from the record: all 201 firms present, none absent.
    const rounds = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rounds.length).toBe(ROUNDS);
    for (const r of rounds) {
      const firms = Object.values(r.firms as Record<string, { absent: boolean }>);
      expect(firms.length).toBe(FOLLOWERS + 1);
      expect(firms.filter((f) => f.absent).length).toBe(0);
    }
    // Auth was on: the run's own credentials, one identity per firm.
    expect(existsSync(join(out, "auth", "server.conf"))).toBe(true);
    // Four host processes, each with its own log; each firm's lines in its own log file.
    const logs = readdirSync(join(out, "logs"));
    expect(logs.filter((l) => /^firms-\d+\.log$/.test(l)).sort()).toEqual(["firms-0.log", "firms-1.log", "firms-2.log", "firms-3.log"]);
    for (const id of ["leader", ...followers]) {
      const lines = readFileSync(join(out, "logs", `firm-${id}.log`), "utf8").trim().split("\n");
      expect(lines.some((l) => l.includes('"firm registered"'))).toBe(true);
      expect(lines.every((l) => JSON.parse(l).firmId === id)).toBe(true);
    }
    const launcher = run.output();
    expect(launcher).not.toMatch(/absent firms got the default action/);
    expect(readFileSync(join(out, "logs", "market.log"), "utf8")).toMatch(/"absences":0/);
  });

  it("scale - learners packed into one host share its training thread: deterministic metrics byte-identical to one process per firm", { timeout: 240_000 }, async () => {
    const file = writeExperiment({
      name: "packed-learners",
      seed: 4,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 16, episodes: 30, quantityMax: 100, deadlineMs: 60_000 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      ],
      training: { schedule: { kind: "alternating", phaseRounds: 10, evaluateRounds: 5 }, deterministic: true },
    });
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "stk-packed-")));
    // One host (both trainers on its one training thread) against one process per firm.
    const packed = spawnCli(["run", file, "--hosts", "1", "--out", dirs[0]!, "--no-progress"], { LOG_LEVEL: "info", STACKELBERG_TRAINING_THREADS: "1" });
    expect(await packed.exit, packed.output().slice(-3000)).toBe(0);
    const apart = spawnCli(["run", file, "--hosts", "2", "--out", dirs[1]!, "--no-progress"], { LOG_LEVEL: "info" });
    expect(await apart.exit, apart.output().slice(-3000)).toBe(0);
    const metrics = dirs.map((d) => readFileSync(join(d, "metrics.jsonl")));
    expect(metrics[0]!.toString().trim().split("\n").length).toBe(30);
    expect(metrics[0]!.equals(metrics[1]!)).toBe(true);
    // The packed run had one host process for both firms, each firm's lines still in its own log.
    expect(readdirSync(join(dirs[0]!, "logs")).sort()).toEqual(["firm-follower.log", "firm-leader.log", "firms-0.log", "market.log"]);
    for (const id of ["leader", "follower"])
      expect(readFileSync(join(dirs[0]!, "logs", `firm-${id}.log`), "utf8")).toMatch(/"backend":"(tensorflow|wasm|cpu)"/);
  });

  it("scale - a firm host process that dies stops the run with an error naming the host and its firms", { timeout: 120_000 }, async () => {
    const file = writeExperiment({
      name: "scale-fail",
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 1, episodes: 1_000_000, quantityMax: 100, deadlineMs: 500 },
      firms: [
        { id: "a", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
        { id: "b", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 10 } },
        { id: "c", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 10 } },
      ],
    });
    const out = mkdtempSync(join(tmpdir(), "stk-scale-fail-"));
    const run = spawnCli(["run", file, "--hosts", "2", "--out", out, "--no-progress"], { LOG_LEVEL: "info" });
    // Round-robin over a, b, c: firms-0 hosts a and c, firm-b hosts b. Kill firms-0 once the run is under way.
    const until = Date.now() + 60_000;
    while (!(existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").length > 0)) {
      if (Date.now() > until) throw new Error(`the run did not start:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pids = execFileSync("ps", ["-eo", "pid=,args="])
      .toString()
      .split("\n")
      .filter((l) => l.includes(`${out}/config.yaml`) && l.includes("--firm a,c"))
      .map((l) => Number.parseInt(l.trim(), 10));
    expect(pids.length).toBe(1);
    process.kill(pids[0]!, "SIGKILL");
    expect(await run.exit).not.toBe(0);
    expect(run.output()).toMatch(/firm host process firms-0 \(firms a, c\) exited with SIGKILL/);
  });
});
