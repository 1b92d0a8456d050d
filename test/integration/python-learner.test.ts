/**
 * A learning follower written in Python (clients/python, `python -m
 * stackelberg.examples.learning_follower`, numpy only, from the project's .venv that
 * scripts/test.sh sets up) against the TypeScript market and PPO leader of
 * experiments/ppo-leader-python-follower.yaml, each process with its own credentials. The follower
 * learns its reaction function while the leader explores, is frozen while the leader learns, and
 * ends within 2% of its Stackelberg quantity. Several seeds, timed: clients/python/scripts/learner_seeds.sh.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { phaseAt, phasesOf } from "../../market/service/index.js";
import { loadExperiment } from "../../services/config/index.js";
import { equilibriaFor } from "../../services/report/equilibria.js";
import { readRecord } from "../../services/report/record.js";
import { killLeftovers, ROOT, spawnCli, spawnProcess } from "../fixtures/cli.js";
import { startSecureRun } from "../fixtures/secure.js";

const config = join(ROOT, "experiments", "ppo-leader-python-follower.yaml");
const exp = loadExperiment(config);

afterEach(killLeftovers);

/** Least-squares fit q = a + b s over the pairs with q > 0 (0 is where the reaction is clipped); returns the largest absolute residual. */
function affineResidual(sAll: number[], qAll: number[]): number {
  const s = sAll.filter((_, i) => qAll[i]! > 0);
  const q = qAll.filter((v) => v > 0);
  const n = s.length;
  const ms = s.reduce((x, y) => x + y, 0) / n;
  const mq = q.reduce((x, y) => x + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (s[i]! - ms) * (q[i]! - mq);
    sxx += (s[i]! - ms) ** 2;
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return Math.max(...q.map((v, i) => Math.abs(v - (mq + b * (s[i]! - ms)))));
}

describe("python learner", () => {
  it("python learner - a numpy follower learns against the TypeScript PPO leader and ends within 2% of its equilibrium quantity, following the phases", async () => {
    const python = join(ROOT, ".venv", "bin", "python");
    if (!existsSync(python))
      throw new Error(`${python} is missing: run \`npm test\` (scripts/test.sh sets up .venv with clients/python)`);
    const runId = "py-learner";
    const sec = await startSecureRun(exp, runId);
    try {
      const args = ["--config", config, "--nats", sec.url, "--run", runId];
      const market = spawnCli(["market", ...args, "--creds", sec.creds("market")]);
      const leader = spawnCli(["firm", ...args, "--firm", "leader", "--creds", sec.creds("firm-leader")]);
      const follower = spawnProcess(python, [
        "-m",
        "stackelberg.examples.learning_follower",
        "--nats",
        sec.url,
        "--run",
        runId,
        "--firm",
        "follower",
        "--creds",
        sec.creds("firm-follower"),
        "--seed",
        "1",
      ]);
      const codes = await Promise.all([market.exit, leader.exit, follower.exit]);
      expect(codes, `${market.output()}\n${leader.output()}\n${follower.output()}`).toEqual([0, 0, 0]);

      const spy = await sec.connectSpy();
      const record = await readRecord(spy, runId);
      await spy.close();
      const B = exp.market.batch;
      expect(record).toHaveLength(exp.market.totalRounds);
      const phases = phasesOf(exp);
      const byPhase = new Map<string, { s: number[]; q: number[] }>();
      const last: { s: number; q: number }[] = [];
      for (const o of record) {
        const ids = o.firmIds ?? [];
        const f = ids.indexOf("follower");
        const l = ids.indexOf("leader");
        expect(o.absent ?? []).not.toContain(true);
        const q = (o.quantities ?? []).slice(f * B, (f + 1) * B) as number[];
        const s = (o.quantities ?? []).slice(l * B, (l + 1) * B) as number[];
        const name = phaseAt(phases, Number(o.round)).name;
        const p = byPhase.get(name) ?? { s: [], q: [] };
        p.s.push(...s);
        p.q.push(...q);
        byPhase.set(name, p);
        if (Number(o.round) >= exp.market.totalRounds - 20)
          last.push({ s: s.reduce((a, b) => a + b, 0) / B, q: q.reduce((a, b) => a + b, 0) / B });
      }
      // Frozen while the leader trains: one affine reaction to the leader's quantity (clipped at 0)
      // across the whole phase, in which the leader samples; exploring noise while the follower trains.
      const frozen = byPhase.get("train-leaders")!;
      const training = byPhase.get("train-followers")!;
      expect(affineResidual(frozen.s, frozen.q)).toBeLessThan(1e-6);
      expect(affineResidual(training.s, training.q)).toBeGreaterThan(0.1);

      const eq = equilibriaFor(exp).stackelberg;
      const want = (id: string) => eq.firms.find((x) => x.id === id)!.quantity;
      const q = last.reduce((a, x) => a + x.q, 0) / last.length;
      const s = last.reduce((a, x) => a + x.s, 0) / last.length;
      expect(Math.abs(q - want("follower")) / want("follower"), `follower ${q}, leader ${s}\n${follower.output()}`).toBeLessThan(
        0.02,
      );
      expect(Math.abs(s - want("leader")) / want("leader"), `leader ${s}`).toBeLessThan(0.02);
      // The follower's own report agrees with the record.
      const report = JSON.parse(follower.output().trim().split("\n").at(-1)!);
      expect(report.quantity).toBeCloseTo(q, 6);
      expect(report.trained_rounds).toBe(
        record.filter((o) => phaseAt(phases, Number(o.round)).name === "train-followers").length,
      );
    } finally {
      await sec.stop();
    }
  });
});
