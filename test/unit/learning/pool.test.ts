/**
 * The piscina training pool: the real worker thread (needs `npm run build`), typed messages, weights
 * moved back, deterministic synchronization, and in the default mode every row trained on.
 */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { InlineHost } from "../../../agents/learning/host.js";
import { initBackend } from "../../../agents/learning/backend.js";
import type { PpoSpec } from "../../../agents/learning/messages.js";
import { TrainingPool, workerFile } from "../../../agents/learning/pool.js";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import { Harness } from "./harness.js";
import { scenario } from "./stackelberg-run.js";

const spec: PpoSpec = {
  algo: "ppo",
  actorIn: 3,
  criticIn: 3,
  hidden: [8, 8],
  learningRate: 1e-3,
  epochs: 2,
  minibatch: 16,
  clip: 0.2,
  gamma: 0,
  lambda: 0.95,
  batch: 16,
  seed: 7,
};

function batch(rows: number): { rows: number; data: Float32Array } {
  const S = spec.actorIn + spec.criticIn + 5;
  const data = new Float32Array(rows * spec.batch * S);
  for (let n = 0; n < rows * spec.batch; n++) {
    const o = n * S;
    data[o] = (n % 7) / 7;
    data[o + 3] = (n % 7) / 7;
    data[o + 6] = 0.5 + 0.01 * (n % 5);
    data[o + 7] = 0.5;
    data[o + 8] = n % 3;
    data[o + 9] = 1;
    data[o + 10] = 0.1;
  }
  return { rows, data };
}

describe("learning pool", () => {
  const pools: TrainingPool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  test("learning pool - the compiled worker entry exists (run npm run build first)", () => {
    expect(workerFile()).toMatch(/dist[\\/]agents[\\/]learning[\\/]worker\.js$/);
    expect(existsSync(workerFile())).toBe(true);
  });

  test("learning pool - a worker thread trains and moves weights back, identical to the inline trainer", async () => {
    const pool = new TrainingPool({ firmId: "f" });
    pools.push(pool);
    const inline = new InlineHost();
    const [a, b] = await Promise.all([
      pool.request({ type: "init", spec, backend: "wasm" }),
      inline.request({ type: "init", spec, backend: "wasm" }),
    ]);
    expect(a.type).toBe("ready");
    expect(a.backend).toBe(await initBackend(undefined, "wasm"));
    expect(Array.from(a.actor)).toEqual(Array.from(b.actor));
    const sent = batch(3);
    const copy = { rows: sent.rows, data: sent.data.slice() };
    const r1 = await pool.request({ type: "train", batch: sent });
    // The experience buffer moved to the worker: the sender's view is detached.
    expect(sent.data.length).toBe(0);
    const r2 = await inline.request({ type: "train", batch: copy });
    expect(r1.stats.samples).toBe(3 * spec.batch);
    expect(r1.stats.steps).toBe(2 * 3);
    expect(r1.actor).toBeInstanceOf(Float32Array);
    expect(Array.from(r1.actor)).toEqual(Array.from(r2.actor));
    expect(Array.from(r1.actor)).not.toEqual(Array.from(a.actor));
    const st = await pool.request({ type: "get-state" });
    expect(st.state.updates).toBe(1);
    await inline.close();
  });

  test("learning pool - a request before init fails with a named reason", async () => {
    const pool = new TrainingPool({ firmId: "g" });
    pools.push(pool);
    await expect(pool.request({ type: "get-state" })).rejects.toThrow(/init first/);
  });
});

describe("ppo with the worker pool", () => {
  async function run(
    deterministic: boolean,
    rounds: number,
    seed = 3,
  ): Promise<{ actions: Float64Array[]; metrics: Record<string, number> }> {
    const input = scenario({
      seed,
      batch: 64,
      phaseRounds: 10,
      phases: 2,
      evaluateRounds: 2,
      policy: { horizon: 2, epochs: 2, minibatch: 64 },
    });
    (input.training as { deterministic: boolean }).deterministic = deterministic;
    const h = await Harness.create(input, async (r, firm, exp) =>
      PpoPolicy.create(r, firm.policy as PpoConfig, learnerOptions(exp, firm)),
    );
    const actions: Float64Array[] = [];
    try {
      await h.play(rounds, (rec) => actions.push(rec.quantities));
      await (h.policy("leader") as PpoPolicy).settle();
      return { actions, metrics: h.policy("follower").metrics?.() ?? {} };
    } finally {
      await h.close();
    }
  }

  test("ppo - deterministic mode with the worker pool gives byte-identical actions for the same seed", async () => {
    const a = await run(true, 22);
    const b = await run(true, 22);
    expect(a.actions.length).toBe(22);
    for (let r = 0; r < a.actions.length; r++)
      expect(Buffer.from(a.actions[r]!.buffer).equals(Buffer.from(b.actions[r]!.buffer))).toBe(true);
    // The follower trained in the first phase: its updates arrived and acting waited for them.
    expect(a.metrics.updates).toBe(5);
    expect(a.metrics.samplesPerSecond).toBeGreaterThan(0);
    const c = await run(true, 22, 4);
    expect(Buffer.from(c.actions[5]!.buffer).equals(Buffer.from(a.actions[5]!.buffer))).toBe(false);
  });

  test("ppo - default mode with the worker pool trains on every row, within the policy-lag bound", async () => {
    const rounds = 60;
    const input = scenario({
      seed: 5,
      batch: 64,
      phaseRounds: rounds,
      phases: 1,
      evaluateRounds: 0,
      policy: { epochs: 8, minibatch: 64 },
    });
    (input.training as { deterministic: boolean }).deterministic = false;
    const h = await Harness.create(input, async (r, firm, exp) =>
      PpoPolicy.create(r, firm.policy as PpoConfig, learnerOptions(exp, firm)),
    );
    try {
      const fol = h.policy("follower") as PpoPolicy;
      await h.play(rounds);
      await fol.settle();
      const m = fol.metrics();
      // The follower trains in this (only) phase: every round reached the trainer.
      expect(m.trainedRounds).toBe(rounds);
      expect(m.updates).toBe(rounds);
      expect(m.samples).toBe(rounds * 64);
      expect(m.droppedRows).toBe(0);
      expect(m.policyLagMax).toBeLessThanOrEqual(1);
      // The in-process harness never yields to the worker while acting: acting waited for it.
      expect(m.actWaits).toBeGreaterThan(0);
      expect(m.samplesPerSecond).toBeGreaterThan(0);
      expect(m.trainerSamplesPerSecond).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
