/**
 * CTDE over the bus, end to end with `stackelberg run` and `stackelberg evaluate` (real
 * nats-server, nkey auth, every firm its own process): centralized critics learn from the market's
 * training subject, and an evaluation run plays the trained policies under decentralized execution,
 * where the server lets no firm read that subject (that the market publishes nothing on it there is
 * checked over the in-memory bus in test/unit/learning/runtime.test.ts), and every learner must load
 * its trained policy.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { allowed, runSubjects } from "../../services/bus/index.js";
import { killLeftovers, spawnCli, writeExperiment } from "../fixtures/cli.js";

afterEach(() => killLeftovers());

interface Manifest {
  runId: string;
  identities: { name: string; identity: { role: string }; permissions: { subscribe: string[] } }[];
}

const lastMetrics = (dir: string, id: string): Record<string, number> => {
  const lines = readFileSync(join(dir, "learners", `${id}.jsonl`), "utf8").trim().split("\n");
  return JSON.parse(lines.at(-1) ?? "{}") as Record<string, number>;
};

/** Which firms of a run's auth folder may subscribe to the run's training subject. */
const trainReaders = (dir: string): string[] => {
  const m = JSON.parse(readFileSync(join(dir, "auth", "auth.json"), "utf8")) as Manifest;
  const train = runSubjects(m.runId).train;
  return m.identities.filter((i) => i.identity.role === "firm" && allowed(i.permissions.subscribe, train)).map((i) => i.name);
};

describe("ctde", () => {
  it("ctde - MAPPO/MADDPG critics learn from the training subject; `evaluate` replays the trained policies with it withheld", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "stk-ctde-"));
    const trained = join(tmp, "trained");
    try {
      const file = writeExperiment({
        name: "ctde-tiny",
        seed: 3,
        market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 8, episodes: 40, quantityMax: 100 },
        firms: [
          { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg", minibatch: 16 } },
          { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo", horizon: 2 } },
        ],
        training: { deterministic: true },
      });
      const run = spawnCli(["run", file, "--out", trained, "--quiet"]);
      expect(await run.exit, run.output()).toBe(0);
      // Training: both firms may read the training subject, every round's information completed a
      // row (MAPPO) or a transition (MADDPG), and both trainers got samples.
      expect(trainReaders(trained).sort()).toEqual(["firm-follower", "firm-leader"]);
      for (const id of ["leader", "follower"]) {
        const m = lastMetrics(trained, id);
        expect(m.missingTrainingInfo, id).toBe(0);
        expect(m.samples, id).toBeGreaterThan(0);
      }

      // Decentralized execution of the trained policies.
      const evalDir = join(tmp, "evaluation");
      const ev = spawnCli(["evaluate", trained, "--rounds", "12", "--out", evalDir, "--json"]);
      expect(await ev.exit, ev.output()).toBe(0);
      const line = ev.output().trim().split("\n").find((l) => l.startsWith('{"out"'));
      const printed = JSON.parse(line ?? "{}") as { out: string; summary: { rounds: number; final: { distance: number; firms: Record<string, { profit: number }> } } };
      expect(printed.out).toBe(evalDir);
      expect(printed.summary.rounds).toBe(12);
      expect(Number.isFinite(printed.summary.final.distance)).toBe(true);
      expect(Object.keys(printed.summary.final.firms).sort()).toEqual(["follower", "leader"]);
      expect(existsSync(join(evalDir, "report.html"))).toBe(true);
      // The server refuses the training subject to every firm, and nothing was trained.
      expect(trainReaders(evalDir)).toEqual([]);
      for (const id of ["leader", "follower"]) expect(lastMetrics(evalDir, id).samples, id).toBe(0);
      // Every round of the evaluation is recorded.
      const rows = readFileSync(join(evalDir, "metrics.jsonl"), "utf8").trim().split("\n");
      expect(rows.length).toBe(12);

      // A learner without a trained policy fails the evaluation with one line, naming it.
      const partial = join(tmp, "partial");
      cpSync(trained, partial, { recursive: true });
      rmSync(join(partial, "checkpoints", "leader"), { recursive: true, force: true });
      const bad = spawnCli(["evaluate", partial, "--rounds", "4", "--quiet"]);
      expect(await bad.exit).toBe(2);
      expect(bad.output()).toMatch(/no trained policy of leader/);

      // Not a run folder: a usage error.
      const none = spawnCli(["evaluate", join(tmp, "nothing-here")]);
      expect(await none.exit).toBe(2);
      expect(none.output()).toMatch(/not a run output folder/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 240_000);
});
