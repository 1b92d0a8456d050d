/** PPO and MAPPO beyond the acceptance scenario: phases, the valuation objective, the centralized critic. */
import { describe, expect, test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import { parseExperiment } from "../../../services/config/load.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { Capturing, ctx, Harness, meanOf, run } from "./harness.js";

const ppoDefaults = (parseExperiment({
  market: { demand: { kind: "linear", a: 100, b: 1 } },
  firms: [{ id: "me", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } }],
}).firms[0]?.policy ?? {}) as PpoConfig;

/** A one-round episode's outcome for a firm alone in its market. */
const outcome = (r: number, a: Float64Array, profit: Float64Array) => ({
  round: r,
  episode: r,
  step: 0,
  episodeEnd: true,
  prices: new Float64Array(a.length),
  quantity: a,
  profit,
  absent: false,
  allQuantities: a,
});

const opts = { objective: "profit" as const, discount: 0.95, deterministic: true, trainingRounds: 100, inline: true };

describe("ppo phases", () => {
  test("ppo - an exploring firm acts uniformly over [0, quantityMax] and does not learn", async () => {
    const p = await PpoPolicy.create(run(512), ppoDefaults, opts);
    try {
      p.onPhase({ name: "train-followers", round: 0, training: false, exploring: true });
      const a = (await p.act(ctx(512))) as Float64Array;
      expect(Math.min(...a)).toBeLessThan(5);
      expect(Math.max(...a)).toBeGreaterThan(95);
      const mean = a.reduce((s, v) => s + v, 0) / a.length;
      expect(Math.abs(mean - 50)).toBeLessThan(5);
      p.observe({
        round: 0,
        episode: 0,
        step: 0,
        episodeEnd: true,
        prices: new Float64Array(512),
        quantity: a,
        profit: new Float64Array(512).fill(1),
        absent: false,
        allQuantities: a,
      });
      await p.settle();
      expect(p.metrics().updates).toBe(0);
      expect(p.metrics().trainedRounds).toBe(0);
    } finally {
      await p.close();
    }
  });

  test("ppo - a narrowed exploring phase plays uniformly in the window around the greedy quantity", async () => {
    const p = await PpoPolicy.create(run(512), ppoDefaults, { ...opts, exploreWidthAt: (r) => (r >= 100 ? 0.2 : 1) });
    try {
      p.onPhase({ name: "evaluate", round: 50, training: false, exploring: false });
      const greedy = ((await p.act(ctx(512))) as Float64Array)[0] as number;
      p.onPhase({ name: "train-followers", round: 100, training: false, exploring: true });
      const a = (await p.act(ctx(512))) as Float64Array;
      expect(Math.min(...a)).toBeGreaterThanOrEqual(greedy - 10 - 1e-9);
      expect(Math.max(...a)).toBeLessThanOrEqual(greedy + 10 + 1e-9);
      expect(Math.min(...a)).toBeLessThan(greedy - 9);
      expect(Math.max(...a)).toBeGreaterThan(greedy + 9);
      // A phase the plan leaves wide spans the whole range again.
      p.onPhase({ name: "train-followers", round: 0, training: false, exploring: true });
      const b = (await p.act(ctx(512))) as Float64Array;
      expect(Math.max(...b) - Math.min(...b)).toBeGreaterThan(90);
    } finally {
      await p.close();
    }
  });

  test("ppo - a frozen firm acts greedily (the policy mean) and does not learn", async () => {
    const p = await PpoPolicy.create(run(8), ppoDefaults, opts);
    try {
      p.onPhase({ name: "evaluate", round: 0, training: false, exploring: false });
      const a = Float64Array.from((await p.act(ctx(8))) as Float64Array);
      const b = Float64Array.from((await p.act(ctx(8))) as Float64Array);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(new Set(a).size).toBe(1);
      // A fresh actor's mean sits near the middle of the range.
      expect(Math.abs((a[0] as number) - 50)).toBeLessThan(5);
      p.observe({
        round: 0,
        episode: 0,
        step: 0,
        episodeEnd: true,
        prices: new Float64Array(8),
        quantity: b,
        profit: new Float64Array(8),
        absent: false,
        allQuantities: b,
      });
      await p.settle();
      expect(p.metrics().updates).toBe(0);
    } finally {
      await p.close();
    }
  });

  test("ppo - a training firm samples around its mean with the scheduled std and updates every horizon rounds", async () => {
    const cfg = { ...ppoDefaults, horizon: 2 };
    const p = await PpoPolicy.create(run(256), cfg, opts);
    try {
      expect(p.metrics().explorationStd).toBeCloseTo(15, 6);
      for (let r = 0; r < 4; r++) {
        const a = Float64Array.from((await p.act(ctx(256))) as Float64Array);
        const mean = a.reduce((s, v) => s + v, 0) / a.length;
        const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
        if (r === 0) {
          expect(Math.abs(mean - 50)).toBeLessThan(3);
          expect(Math.abs(sd - 15)).toBeLessThan(2);
        }
        p.observe(outcome(r, a, a.map((q) => q * (90 - 30 - q))));
      }
      await p.settle();
      expect(p.metrics().updates).toBe(2);
      expect(p.metrics().trainedRounds).toBe(4);
      // The std anneals geometrically from 15 towards 0.5 over the 100 training rounds.
      expect(p.metrics().explorationStd).toBeCloseTo(15 * (0.005 / 0.15) ** 0.04, 6);
    } finally {
      await p.close();
    }
  });
});

function monopoly(kind: "ppo" | "mappo", episodes: number, T: number, objective: "profit" | "valuation"): ExperimentInput {
  return {
    name: "monopoly",
    seed: 4,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 128, roundsPerEpisode: T, episodes, quantityMax: 100 },
    firms: [{ id: "m", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind } }],
    training: { objective, discount: 0.9, deterministic: true },
  } as ExperimentInput;
}

describe("ppo instance shares", () => {
  test("ppo - with a share of the instances a training firm explores and learns only there (row j is instance own[j]), and plays its mean elsewhere", async () => {
    const host = new Capturing();
    // A follower whose instances differ: the earlier tiers' total is 10 + i / 4 in instance i.
    const c = ctx(256);
    c.committedTotal = Float64Array.from({ length: 256 }, (_, i) => 10 + i / 4);
    const p = await PpoPolicy.create(run(256, 1), ppoDefaults, { ...opts, instanceShare: { slot: 1, of: 2 }, trainerHost: () => host });
    try {
      p.onPhase({ name: "evaluate", round: 0, training: false, exploring: false });
      const greedy = Float64Array.from((await p.act(c)) as Float64Array);
      p.onPhase({ name: "train-followers", round: 1, training: true, exploring: false });
      const sd = (v: Float64Array) => {
        const m = v.reduce((s, x) => s + x, 0) / v.length;
        return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
      };
      const played: Float64Array[] = [];
      for (let r = 1; r <= 2; r++) {
        const a = Float64Array.from((await p.act(c)) as Float64Array);
        played.push(a);
        // Outside its share: exactly the greedy quantity (the weights are unchanged before the first update).
        if (r === 1) expect(a.filter((_, i) => i % 2 === 0)).toEqual(greedy.filter((_, i) => i % 2 === 0));
        expect(sd(a.filter((_, i) => i % 2 === 1))).toBeGreaterThan(10);
        // A profit that names its instance: 1000 r + i.
        p.observe(outcome(r, a, Float64Array.from(a, (_, i) => 1000 * r + i)));
      }
      await p.settle();
      expect(host.batches.length).toBe(2);
      const { dA, dC, S, rScale, features } = p as unknown as {
        dA: number;
        dC: number;
        S: number;
        rScale: number;
        features: { build(ctx: unknown, out: Float32Array): Float32Array };
      };
      const x = features.build(c, new Float32Array(256 * dA));
      host.batches.forEach((b, t) => {
        expect(b.data.length).toBe(128 * S);
        for (let j = 0; j < 128; j++) {
          const i = 2 * j + 1;
          const k = j * S + dA + dC;
          // Features, reward, action and (in round 1) the behaviour mean of row j are instance i's.
          expect(Array.from(b.data.subarray(j * S, j * S + dA))).toEqual(Array.from(x.subarray(i * dA, (i + 1) * dA)));
          expect((b.data[k + 2] as number) * rScale).toBeCloseTo(1000 * (t + 1) + i, 1);
          expect(Math.min(Math.max(b.data[k] as number, 0), 1) * 100).toBeCloseTo(played[t]![i] as number, 3);
          if (t === 0) expect((b.data[k + 1] as number) * 100).toBeCloseTo(greedy[i] as number, 3);
        }
      });
      // The features do tell the instances apart.
      expect(x[1 * dA + dA - 1]).not.toBe(x[3 * dA + dA - 1]);
      expect(p.metrics().samples).toBe(256);
    } finally {
      await p.close();
    }
  });
});

describe("ppo objectives", () => {
  test("ppo - the valuation objective (GAE over 4-round episodes) learns the monopoly quantity 45", async () => {
    const h = await Harness.create(monopoly("ppo", 150, 4, "valuation"), async (r, firm, exp) =>
      PpoPolicy.create(r, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
    try {
      await h.play();
      const p = h.policy("m") as PpoPolicy;
      // Updates come at episode ends only: one per episode.
      expect(p.metrics().updates).toBe(150);
      p.onPhase({ name: "evaluate", round: 600, training: false, exploring: false });
      const q = ((await p.act(ctx(128))) as Float64Array)[0] as number;
      expect(Math.abs(q / 45 - 1)).toBeLessThan(0.03);
    } finally {
      await h.close();
    }
  }, 60_000);

  test("mappo - two MAPPO firms with a centralized critic approach Cournot's 30 each", async () => {
    const input = {
      name: "cournot",
      seed: 6,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 128, roundsPerEpisode: 1, episodes: 400, quantityMax: 100 },
      firms: [
        { id: "a", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo" } },
        { id: "b", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo" } },
      ],
      training: { objective: "profit", deterministic: true },
    } as ExperimentInput;
    const h = await Harness.create(input, async (r, firm, exp) =>
      PpoPolicy.create(r, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
    try {
      const last = await h.play();
      expect(h.policy("a").kind).toBe("mappo");
      for (const k of [0, 1]) expect(Math.abs(meanOf(last!, k, 128) / 30 - 1)).toBeLessThan(0.05);
    } finally {
      await h.close();
    }
  }, 180_000);
});
