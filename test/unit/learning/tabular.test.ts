/**
 * Tabular learners on a Cournot duopoly (a=100, b=1, c=10: Nash 30 each, profit 900; collusion
 * 22.5 each) and, for Hedge, a follower's reaction function under the alternating schedule.
 */
import { describe, expect, test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type HedgeConfig, HedgePolicy } from "../../../agents/policies/hedge.js";
import { type QLearningConfig, QLearningPolicy } from "../../../agents/policies/q-learning.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { Harness, meanOf, meanProfit, type RoundRecord } from "./harness.js";

function cournot(policy: Record<string, unknown>, episodes: number, batch: number): ExperimentInput {
  return {
    name: "cournot",
    seed: 1,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch, roundsPerEpisode: 1, episodes, quantityMax: 100 },
    firms: [
      { id: "a", role: "leader", cost: { kind: "linear", c: 10 }, policy },
      { id: "b", role: "leader", cost: { kind: "linear", c: 10 }, policy },
    ],
    training: { objective: "profit" },
  } as ExperimentInput;
}

describe("hedge", () => {
  test("hedge - two full-information Hedge firms settle within 10% of Cournot's 30 each", async () => {
    const h = await Harness.create(
      cournot({ kind: "hedge" }, 300, 64),
      async (run, firm) => new HedgePolicy(run, firm.policy as HedgeConfig),
    );
    try {
      await h.play();
      for (const id of ["a", "b"]) {
        const p = h.policy(id) as HedgePolicy;
        expect(Math.abs(p.meanQuantity() - 30)).toBeLessThan(3);
        expect(p.mode()).toBe(30);
      }
    } finally {
      await h.close();
    }
  });

  test("hedge - a follower learns its reaction function while the leader explores its whole range", async () => {
    const input = {
      name: "hedge-stackelberg",
      seed: 2,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 128, roundsPerEpisode: 1, episodes: 200, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "hedge" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "hedge" } },
      ],
      training: { schedule: { kind: "alternating", phaseRounds: 200, evaluateRounds: 0 } },
    } as ExperimentInput;
    const h = await Harness.create(input, async (run, firm) => new HedgePolicy(run, firm.policy as HedgeConfig));
    try {
      await h.play();
      const f = h.policy("follower") as HedgePolicy;
      // Contexts are committed totals at the grid spacing (5): context c is a leader quantity of 5c.
      for (const q1 of [10, 30, 50, 70]) expect(f.mode(q1 / 5)).toBeCloseTo((90 - q1) / 2, 5);
      // Beyond the choke point (q1 >= 90) producing nothing is best.
      expect(f.mode(19)).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe("q-learning", () => {
  test("q-learning - two Q-learners on a Cournot duopoly settle between collusion and Cournot and earn at least Cournot profit", async () => {
    const policy = { kind: "q-learning", epsilonDecay: 4e-5 };
    const train = 1400;
    const h = await Harness.create(
      cournot(policy, train + 100, 64),
      async (run, firm, exp) => new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm)),
    );
    try {
      const first = await h.step();
      await h.play(train - 1);
      expect((h.policy("a") as QLearningPolicy).epsilon()).toBeLessThan(0.05);
      for (const p of h.policies) p.onPhase?.({ name: "evaluate", round: train, training: false, exploring: false });
      const recs: RoundRecord[] = [];
      await h.play(100, (r) => recs.push(r));
      for (const k of [0, 1]) {
        const q = recs.reduce((s, r) => s + meanOf(r, k, 64), 0) / recs.length;
        const profit = recs.reduce((s, r) => s + meanProfit(r, k, 64), 0) / recs.length;
        expect(q).toBeGreaterThan(20);
        expect(q).toBeLessThan(33);
        expect(profit).toBeGreaterThan(0.97 * 900);
        expect(profit).toBeGreaterThan(meanProfit(first, k, 64) + 200);
      }
    } finally {
      await h.close();
    }
  });
});
