/**
 * The process's training pool: firms of one host process share its worker threads (at most
 * `threads`), each firm's trainer stays in one thread with its own state. Needs `npm run build`.
 */
import { describe, expect, test } from "vitest";
import { InlineHost } from "../../../agents/learning/host.js";
import type { PpoSpec } from "../../../agents/learning/messages.js";
import { defaultTrainingThreads, TRAINING_THREADS_ENV, TrainingPool } from "../../../agents/learning/pool.js";

const spec = (seed: number): PpoSpec => ({
  algo: "ppo",
  actorIn: 2,
  criticIn: 2,
  hidden: [4],
  learningRate: 1e-3,
  epochs: 1,
  minibatch: 8,
  clip: 0.2,
  gamma: 0,
  lambda: 0.95,
  batch: 8,
  seed,
});

function batch(seed: number): { rows: number; data: Float32Array } {
  const S = 2 + 2 + 5;
  const data = new Float32Array(8 * S);
  for (let n = 0; n < 8; n++) {
    const o = n * S;
    data[o] = ((n + seed) % 5) / 5;
    data[o + 2] = ((n + seed) % 5) / 5;
    data[o + 4] = 0.5 + 0.01 * n;
    data[o + 5] = 0.5;
    data[o + 6] = n % 3;
    data[o + 7] = 1;
    data[o + 8] = 0.1;
  }
  return { rows: 1, data };
}

describe("shared training pool", () => {
  test("shared training pool - three firms on two threads keep their own trainers, identical to inline ones", async () => {
    const pools = ["a", "b", "c"].map((firmId) => new TrainingPool({ firmId, threads: 2 }));
    try {
      expect(pools.map((p) => p.threads)).toEqual([2, 2, 2]);
      const inline = [1, 2, 3].map(() => new InlineHost());
      const ready = await Promise.all(pools.map((p, i) => p.request({ type: "init", spec: spec(i + 1), backend: "wasm" })));
      const want = await Promise.all(inline.map((h, i) => h.request({ type: "init", spec: spec(i + 1), backend: "wasm" })));
      ready.forEach((r, i) => expect(Array.from(r.actor)).toEqual(Array.from(want[i]!.actor)));
      // Only firm b trains; a and c (c shares a thread with a) keep their untrained state.
      const trained = await pools[1]!.request({ type: "train", batch: batch(2) });
      const inlineTrained = await inline[1]!.request({ type: "train", batch: batch(2) });
      expect(Array.from(trained.actor)).toEqual(Array.from(inlineTrained.actor));
      const states = await Promise.all(pools.map((p) => p.request({ type: "get-state" })));
      expect(states.map((s) => s.state.updates)).toEqual([0, 1, 0]);
      for (const h of inline) await h.close();
    } finally {
      for (const p of pools) await p.close();
    }
    // The threads closed with their last firm: a new firm starts a fresh pool.
    const again = new TrainingPool({ firmId: "a", threads: 2 });
    expect(again.threads).toBe(1);
    await again.close();
  });

  test("shared training pool - two trainers of one firm id (two runs in one process) stay apart; the thread count (option or environment) is validated", async () => {
    const p = new TrainingPool({ firmId: "x", threads: 1 });
    const q = new TrainingPool({ firmId: "x", threads: 1 });
    try {
      // Same thread (threads: 1), separate trainers: training one leaves the other untouched.
      await p.request({ type: "init", spec: spec(1) });
      await q.request({ type: "init", spec: spec(1) });
      await p.request({ type: "train", batch: batch(2) });
      const states = await Promise.all([p, q].map((h) => h.request({ type: "get-state" })));
      expect(states.map((s) => s.state.updates)).toEqual([1, 0]);
      expect(() => new TrainingPool({ firmId: "y", threads: 0 })).toThrow(/positive integer/);
    } finally {
      await p.close();
      await q.close();
    }
    expect(defaultTrainingThreads({})).toBeGreaterThanOrEqual(1);
    expect(defaultTrainingThreads({ [TRAINING_THREADS_ENV]: "3" })).toBe(3);
    expect(() => defaultTrainingThreads({ [TRAINING_THREADS_ENV]: "two" })).toThrow(/STACKELBERG_TRAINING_THREADS must be a positive integer \(got "two"\)/);
  });
});
