/** The Trainer (learning math, thread-independent), the backend choice and the policy factory. */
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { pino } from "pino";
import { beforeAll, describe, expect, test } from "vitest";
import { initBackend } from "../../../agents/learning/backend.js";
import type { DdpgSpec, PpoSpec } from "../../../agents/learning/messages.js";
import { Mlp } from "../../../agents/learning/mlp.js";
import { anneal, trainingRoundsOf } from "../../../agents/learning/options.js";
import { Trainer } from "../../../agents/learning/trainer.js";
import { makePolicyFactory } from "../../../agents/policies/index.js";
import type { RunView } from "../../../agents/policy.js";
import { Rng } from "../../../market/economics/rng.js";
import { parseExperiment } from "../../../services/config/load.js";
import { OBSERVATION_COLUMNS } from "./harness.js";

const ppo: PpoSpec = {
  algo: "ppo",
  actorIn: 1,
  criticIn: 1,
  hidden: [16],
  learningRate: 1e-2,
  epochs: 4,
  minibatch: 64,
  clip: 0.2,
  gamma: 0,
  lambda: 0.95,
  batch: 64,
  seed: 1,
};

/** One round of a bandit: actions around `mean` with reward -(a - 0.7)^2. */
function banditBatch(mean: number, rng: Rng): { rows: number; data: Float32Array } {
  const S = 7;
  const data = new Float32Array(64 * S);
  for (let i = 0; i < 64; i++) {
    const a = mean + 0.1 * rng.normal();
    data.set([0, 0, a, mean, -((a - 0.7) ** 2), 1, 0.1], i * S);
  }
  return { rows: 1, data };
}

function meanOf(weights: Float32Array, spec: PpoSpec): number {
  const m = new Mlp({ inputs: spec.actorIn, hidden: spec.hidden, outputs: 1 }, 0);
  m.setFlat(weights);
  const v = tf.tidy(() => tf.sigmoid(m.apply(tf.zeros([1, spec.actorIn]))).dataSync()[0] as number);
  m.dispose();
  return v;
}

beforeAll(async () => {
  await initBackend();
});

describe("learning backend", () => {
  test("learning backend - picks tfjs-node when installed, else wasm, and answers the same on every call", async () => {
    const lines: string[] = [];
    const name = await initBackend({ info: (o: unknown) => lines.push(JSON.stringify(o)), warn: () => undefined } as never);
    expect(await initBackend()).toBe(name);
    expect(tf.getBackend()).toBe(name);
    let nodeInstalled = true;
    try {
      createRequire(import.meta.url).resolve("@tensorflow/tfjs-node");
    } catch {
      nodeInstalled = false;
    }
    expect(name).toBe(nodeInstalled ? "tensorflow" : "wasm");
  });
});

describe("trainer", () => {
  test("trainer - a PPO update moves the Gaussian mean towards the better actions", async () => {
    const t = new Trainer(ppo);
    const rng = new Rng(5);
    let mean = meanOf(t.actorWeights(), ppo);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    for (let k = 0; k < 40; k++) {
      t.train(banditBatch(mean, rng));
      mean = meanOf(t.actorWeights(), ppo);
    }
    expect(Math.abs(mean - 0.7)).toBeLessThan(0.05);
    t.dispose();
  });

  test("trainer - a restored state has the original's weights, update count and generator", () => {
    const a = new Trainer(ppo);
    a.train(banditBatch(0.5, new Rng(1)));
    const b = new Trainer({ ...ppo, seed: 99 });
    expect(Array.from(b.actorWeights())).not.toEqual(Array.from(a.actorWeights()));
    b.setState(a.getState());
    expect(Array.from(b.actorWeights())).toEqual(Array.from(a.actorWeights()));
    const [sa, sb] = [a.getState(), b.getState()];
    expect(Array.from(sb.params)).toEqual(Array.from(sa.params));
    expect(sb.updates).toBe(1);
    expect(sb.rng).toEqual(sa.rng);
    a.dispose();
    b.dispose();
  });

  test("trainer - DDPG learns a deterministic best action from its replay buffer", () => {
    const spec: DdpgSpec = {
      algo: "ddpg",
      actorIn: 1,
      criticIn: 1,
      hidden: [16, 16],
      learningRate: 3e-3,
      tau: 0.05,
      bufferSize: 4096,
      minibatch: 64,
      gamma: 0,
      stepsPerUpdate: 4,
      seed: 2,
    };
    const t = new Trainer(spec);
    const rng = new Rng(3);
    const S = 2 * (spec.actorIn + spec.criticIn) + 3;
    let stats = t.train({ rows: 0, data: new Float32Array(0) });
    expect(stats.steps).toBe(0);
    for (let k = 0; k < 150; k++) {
      const data = new Float32Array(64 * S);
      for (let i = 0; i < 64; i++) {
        const a = rng.next();
        data.set([0, 0, a, -((a - 0.3) ** 2) * 4, 1, 0, 0], i * S);
      }
      stats = t.train({ rows: 64, data });
    }
    expect(stats.steps).toBe(4);
    expect(Math.abs(meanOf(t.actorWeights(), { ...ppo, hidden: [16, 16] }) - 0.3)).toBeLessThan(0.05);
    t.dispose();
  });

  test("trainer - a malformed spec or batch is refused with the field named", () => {
    expect(() => new Trainer({ ...ppo, minibatch: 0 })).toThrow(/trainer\.minibatch must be a positive integer/);
    const t = new Trainer(ppo);
    expect(() => t.train({ rows: 2, data: new Float32Array(7) })).toThrow(/expected 2 rows/);
    t.dispose();
  });
});

describe("learner options", () => {
  const exp = parseExperiment({
    market: { demand: { kind: "linear", a: 100, b: 1 }, episodes: 1000 },
    firms: [
      { id: "L", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "F", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 300, evaluateRounds: 50 } },
  });

  test("learner options - training rounds follow the alternating phase plan", () => {
    const [F, L] = exp.firms;
    // Phases: F 0-300, L 300-600, F 600-900, L 900-950 (cut by evaluation at 950).
    expect(trainingRoundsOf(exp, F!)).toBe(600);
    expect(trainingRoundsOf(exp, L!)).toBe(350);
    expect(anneal(0.15, 0.005, 0)).toBeCloseTo(0.15, 12);
    expect(anneal(0.15, 0.005, 1)).toBeCloseTo(0.005, 12);
    expect(anneal(0.15, 0.005, 2)).toBeCloseTo(0.005, 12);
  });

  test("policy factory - builds every learner kind from the experiment file", async () => {
    const kinds = ["ppo", "mappo", "ddpg", "maddpg", "q-learning", "hedge"] as const;
    const e = parseExperiment({
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 4, episodes: 10 },
      firms: kinds.map((k, i) => ({ id: `f${i}`, role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: k } })),
      training: { deterministic: true },
    });
    const logger = pino({ level: "silent" });
    for (const firm of e.firms) {
      const run: RunView = {
        runId: "r",
        firmId: firm.id,
        firmIndex: 0,
        tier: 0,
        batch: 4,
        roundsPerEpisode: 1,
        totalRounds: 10,
        quantityMax: e.market.quantityMax,
        demand: e.market.demand,
        shockRho: 0,
        shockSigma: 0,
        adjustmentCost: 0,
        seed: 1,
        firms: e.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost })),
        observationColumns: [...OBSERVATION_COLUMNS],
      };
      const p = await makePolicyFactory(e, firm, { logger })(run);
      try {
        expect(p.kind).toBe(firm.policy.kind);
        const q = await p.act({
          round: 0,
          episode: 0,
          step: 0,
          episodeEnd: true,
          phase: "simultaneous",
          observation: new Float64Array(4 * OBSERVATION_COLUMNS.length),
          committedTotal: new Float64Array(4),
          committed: new Map(),
          ownLastQuantity: new Float64Array(4),
          ownMarginalCost: new Float64Array(4).fill(10),
        });
        expect(q.length).toBe(4);
        for (const v of q) expect(v >= 0 && v <= e.market.quantityMax).toBe(true);
      } finally {
        await p.close?.();
      }
    }
  }, 60_000);
});
