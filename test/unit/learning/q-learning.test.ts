/**
 * Q-learning's settings one by one: exploration schedules (per round, epsilon-greedy and Boltzmann),
 * memory 0 / 1 states, the discount of the update target (a continuing task) next to the valuation
 * objective, initial values, and the config rules. Small markets on the in-process harness.
 */
import { describe, expect, test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { FixedPolicy } from "../../../agents/policies/fixed.js";
import { type QLearningConfig, QLearningPolicy } from "../../../agents/policies/q-learning.js";
import { parseExperiment } from "../../../services/config/load.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { ConfigError } from "../../../services/errors.js";
import { Harness, type MakePolicy } from "./harness.js";

const makeQ: MakePolicy = async (run, firm, exp) =>
  new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm));

/** One firm alone (a monopoly, P = 100 - Q, c = 10: profit q (90 - q), best 45 earning 2025). */
function monopoly(
  policy: Record<string, unknown>,
  o: { batch?: number; episodes?: number; T?: number; extra?: Record<string, unknown> } = {},
) {
  return {
    name: "monopoly",
    seed: 5,
    market: {
      demand: { kind: "linear", a: 100, b: 1 },
      batch: o.batch ?? 1,
      roundsPerEpisode: o.T ?? 1,
      episodes: o.episodes ?? 10,
      quantityMax: 100,
    },
    firms: [
      { id: "m", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning", ...policy }, ...(o.extra ?? {}) },
    ],
  } as ExperimentInput;
}

/** Three grid points 0, 45, 90 over [0, 90]: normalized profits 0, 1, 0. */
const grid3 = { min: 0, max: 90, steps: 3 };

describe("q-learning exploration", () => {
  test("q-learning - epsilon decays per round whatever the batch size, down to its floor", async () => {
    const exploration = { kind: "epsilon-greedy", epsilon: 0.8, decay: 0.02, min: 0.1 };
    for (const batch of [1, 64]) {
      const h = await Harness.create(monopoly({ exploration }, { batch, episodes: 200 }), makeQ);
      const p = h.policies[0] as QLearningPolicy;
      expect(p.explorationValue()).toBeCloseTo(0.8, 12);
      await h.play(50);
      expect(p.explorationValue()).toBeCloseTo(0.8 * Math.exp(-0.02 * 50), 12);
      await h.play(150);
      expect(p.explorationValue()).toBe(0.1);
      expect(p.metrics().epsilon).toBe(0.1);
    }
  });

  test("q-learning - epsilon-greedy plays a random grid quantity with probability epsilon", async () => {
    // Initial values are the exact profits (one firm: uniform-opponents is the monopoly profit), so greedy is 45.
    const exploration = { kind: "epsilon-greedy", epsilon: 0.3, decay: 0 };
    const h = await Harness.create(monopoly({ grid: grid3, exploration, initialQ: "uniform-opponents" }, { batch: 6000 }), makeQ);
    const rec = await h.step();
    const other = Array.from(rec.quantities).filter((q) => q !== 45).length / 6000;
    // Random draws land on 45 a third of the time: P(not 45) = 0.3 * 2/3.
    expect(other).toBeGreaterThan(0.2 - 0.02);
    expect(other).toBeLessThan(0.2 + 0.02);
  });

  test("q-learning - Boltzmann draws follow the softmax of the Q-values and its temperature decays per round", async () => {
    const exploration = { kind: "boltzmann", temperature: 0.5, decay: 0.05, min: 0.01 };
    const h = await Harness.create(
      monopoly({ grid: grid3, exploration, initialQ: "uniform-opponents" }, { batch: 6000, episodes: 300 }),
      makeQ,
    );
    const p = h.policies[0] as QLearningPolicy;
    const rec = await h.step();
    // Q = (0, 1, 0) at T = 0.5: P(45) = e^2 / (e^2 + 2).
    const share = Array.from(rec.quantities).filter((q) => q === 45).length / 6000;
    const expected = Math.exp(2) / (Math.exp(2) + 2);
    expect(share).toBeGreaterThan(expected - 0.02);
    expect(share).toBeLessThan(expected + 0.02);
    expect(p.explorationValue()).toBeCloseTo(0.5 * Math.exp(-0.05), 12);
    expect(p.metrics().temperature).toBeCloseTo(0.5 * Math.exp(-0.05), 12);
    await h.play(199);
    expect(p.explorationValue()).toBe(0.01);
    // Cold: (nearly) always the best quantity.
    const cold = await h.step();
    expect(Array.from(cold.quantities).filter((q) => q === 45).length).toBeGreaterThan(5990);
  });
});

describe("q-learning state", () => {
  test("q-learning - memoryless: a leader has one state; memory 1 adds last round's quantities", async () => {
    const states = async (memory: 0 | 1) => {
      const h = await Harness.create(monopoly({ memory, grid: { steps: 31 } }, { batch: 8, episodes: 30 }), makeQ);
      await h.play();
      return (h.policies[0] as QLearningPolicy).metrics().states;
    };
    expect(await states(0)).toBe(1);
    expect(await states(1)).toBeGreaterThan(5);
  });

  test("q-learning - a follower's memoryless state is the committed total, whatever happened last round", async () => {
    const input = {
      name: "m",
      seed: 4,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 16, roundsPerEpisode: 1, episodes: 40, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", schedule: [30, 60] } },
        {
          id: "follower",
          role: "follower",
          cost: { kind: "linear", c: 10 },
          policy: { kind: "q-learning", grid: { steps: 31 } },
        },
      ],
    } as ExperimentInput;
    const h = await Harness.create(input, async (r, firm, exp) =>
      firm.policy.kind === "fixed" ? new FixedPolicy(r, firm.policy) : makeQ(r, firm, exp),
    );
    await h.play();
    const f = h.policy("follower") as QLearningPolicy;
    expect(f.metrics().states).toBe(2);
    expect(f.qValues(30)).toBeDefined();
    expect(f.qValues(60)).toBeDefined();
    expect(f.qValues(30, [10, 50])).toEqual(f.qValues(30));
    expect(f.qValues(45)).toBeUndefined();
  });
});

describe("q-learning discount", () => {
  // Always exploring (epsilon 1), alpha 1, Q starting at 0: Q(a) -> r(a) + gamma max Q (a continuing task).
  const base = {
    grid: grid3,
    exploration: { kind: "epsilon-greedy", epsilon: 1, decay: 0 },
    alpha: 1,
    alphaSchedule: "constant",
    initialQ: 0,
  };

  test("q-learning - discount bootstraps r + gamma max Q(s') across rounds and episode ends", async () => {
    const h = await Harness.create(monopoly({ ...base, discount: 0.5 }, { episodes: 400 }), makeQ);
    await h.play();
    const q = (h.policies[0] as QLearningPolicy).qValues(0) as Float64Array;
    // Fixed point: max Q = 1 / (1 - 0.5) = 2; Q(0) = Q(90) = 0 + 0.5 * 2 = 1.
    expect(q[1]).toBeCloseTo(2, 6);
    expect(q[0]).toBeCloseTo(1, 6);
    expect(q[2]).toBeCloseTo(1, 6);
  });

  test("q-learning - the valuation objective discounts within an episode and stops at its end", async () => {
    // Three-round episodes, delta 0.5: values 1 + 0.5 + 0.25 at the first step for the best quantity.
    const h = await Harness.create(
      monopoly(base, { episodes: 400, T: 3, extra: { objective: "valuation", discount: 0.5 } }),
      makeQ,
    );
    await h.play();
    const q = (h.policies[0] as QLearningPolicy).qValues(0) as Float64Array;
    // One state (memoryless monopolist): its Q mixes the episode's steps, between 1 (last step) and 1.75 (first).
    expect(q[1]).toBeGreaterThan(1 - 1e-9);
    expect(q[1]).toBeLessThan(1.75 + 1e-9);
    // With one-round episodes the same objective never bootstraps.
    const h1 = await Harness.create(monopoly(base, { episodes: 50, extra: { objective: "valuation", discount: 0.5 } }), makeQ);
    await h1.play();
    expect(((h1.policies[0] as QLearningPolicy).qValues(0) as Float64Array)[1]).toBeCloseTo(1, 12);
  });

  test("q-learning - policy discount and the valuation objective together are refused, naming the field", async () => {
    await expect(
      Harness.create(monopoly({ discount: 0.9 }, { extra: { objective: "valuation", discount: 0.9 } }), makeQ),
    ).rejects.toThrow(/firms\.m\.policy\.discount/);
  });

  test("q-learning - optimistic initial values scale with 1 / (1 - discount)", async () => {
    const h = await Harness.create(
      monopoly({ grid: grid3, discount: 0.75, exploration: { kind: "epsilon-greedy", epsilon: 0, decay: 0 } }),
      makeQ,
    );
    const p = h.policies[0] as QLearningPolicy;
    await h.step();
    // The first update waits for the successor state (a continuing task).
    expect(p.qValues(0)).toBeUndefined();
    await h.step();
    // One entry updated; the untouched ones still hold 1 / (1 - 0.75) = 4.
    expect(Array.from(p.qValues(0) as Float64Array).filter((v) => v === 4).length).toBeGreaterThanOrEqual(2);
  });

  test("q-learning - uniform-opponents initial values are each quantity's expected profit against uniform rivals", async () => {
    const duo = {
      name: "d",
      seed: 1,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 1, roundsPerEpisode: 1, episodes: 5, quantityMax: 100 },
      firms: ["a", "b"].map((id) => ({
        id,
        role: "leader",
        cost: { kind: "linear", c: 10 },
        policy: {
          kind: "q-learning",
          grid: grid3,
          initialQ: "uniform-opponents",
          exploration: { kind: "epsilon-greedy", epsilon: 0, decay: 0 },
        },
      })),
    } as ExperimentInput;
    const h = await Harness.create(duo, makeQ);
    await h.step();
    // Rival on {0, 45, 90}; price max(0, 100 - Q), cost 10 q. Greedy plays 45 (the best start) and updates it.
    const expected = (q: number) => [0, 45, 90].reduce((s, r) => s + q * Math.max(0, 100 - q - r) - 10 * q, 0) / 3 / 2025;
    const qa = (h.policies[0] as QLearningPolicy).qValues(0) as Float64Array;
    expect(qa[0]).toBeCloseTo(expected(0), 12);
    expect(qa[2]).toBeCloseTo(expected(90), 12);
    expect(expected(45)).toBeGreaterThan(expected(0));
    expect(qa[1]).not.toBeCloseTo(expected(45), 6);
  });
});

describe("q-learning config", () => {
  const input = (policy: Record<string, unknown>) =>
    ({
      name: "c",
      market: { demand: { kind: "linear", a: 100, b: 1 } },
      firms: [{ id: "a", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning", ...policy } }],
    }) as ExperimentInput;

  test("q-learning config - defaults: memoryless, epsilon-greedy per round, 401 grid points, visits schedule, optimistic start", () => {
    const p = parseExperiment(input({})).firms[0]?.policy as QLearningConfig;
    expect(p.memory).toBe(0);
    expect(p.discount).toBe(0);
    expect(p.exploration).toEqual({ kind: "epsilon-greedy", epsilon: 0.1, decay: 0.01, min: 0 });
    expect(p.grid.steps).toBe(401);
    expect(p.alphaSchedule).toBe("visits");
    expect(p.initialQ).toBe(1);
    expect(p.tablePerInstance).toBe(false);
  });

  test("q-learning config - the per-sample epsilonDecay of older files is refused with what replaces it", () => {
    expect(() => parseExperiment(input({ epsilonDecay: 1e-4 }))).toThrow(/policy\.epsilonDecay: removed: it decayed per sample/);
    expect(() => parseExperiment(input({ epsilon: 0.5 }))).toThrow(/policy\.epsilon: removed/);
    expect(() => parseExperiment(input({ memory: 2 }))).toThrow(ConfigError);
    expect(() => parseExperiment(input({ discount: 1 }))).toThrow(/policy\.discount/);
    expect(() => parseExperiment(input({ exploration: { kind: "boltzmann" } }))).toThrow(/exploration\.temperature/);
  });

  test("q-learning config - the grid ends where output stops paying, shared by every firm", async () => {
    const duo = {
      name: "g",
      market: { demand: { kind: "linear", a: 100, b: 1 }, quantityMax: 100 },
      firms: [
        { id: "l", role: "leader", cost: { kind: "linear", c: 20 }, policy: { kind: "q-learning" } },
        {
          id: "f",
          role: "follower",
          cost: { kind: "quadratic", c: 10, d: 1 },
          policy: { kind: "q-learning", grid: { steps: 11 } },
        },
      ],
    } as ExperimentInput;
    const h = await Harness.create(duo, makeQ);
    // The follower's marginal cost at zero is 10: price 100 - Q falls to 10 at Q = 90; the leader's at 80.
    expect((h.policy("l") as QLearningPolicy).grid.max).toBe(90);
    expect((h.policy("f") as QLearningPolicy).grid.max).toBe(90);
    expect((h.policy("l") as QLearningPolicy).grid.points[200]).toBe(45);
    expect(Array.from((h.policy("f") as QLearningPolicy).grid.points)).toEqual([0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90]);
  });
});
