/**
 * Tabular learners on the linear market P = 100 - Q, c = 10 (Cournot duopoly 30 each, collusion
 * 22.5 each; Stackelberg leader 45, follower 22.5). Default grids: 401 points over [0, 90], so 45
 * and 22.5 are grid points (spacing 0.225).
 */
import { describe, expect, test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { BestResponsePolicy } from "../../../agents/policies/best-response.js";
import { FixedPolicy } from "../../../agents/policies/fixed.js";
import { type HedgeConfig, HedgePolicy } from "../../../agents/policies/hedge.js";
import { type QLearningConfig, QLearningPolicy } from "../../../agents/policies/q-learning.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { Harness, type MakePolicy, meanOf, meanProfit, type RoundRecord } from "./harness.js";

const makeQ: MakePolicy = async (run, firm, exp) =>
  new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm));
const makeHedge: MakePolicy = async (run, firm) => new HedgePolicy(run, firm.policy as HedgeConfig);
const STEP = 90 / 400;

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

/** Leader and follower of one kind, alternating: follower phase, leader phase, greedy evaluation. */
function stackelberg(policy: Record<string, unknown>, seed: number, batch: number, phaseRounds: number): ExperimentInput {
  return {
    name: "tabular-stackelberg",
    seed,
    market: {
      demand: { kind: "linear", a: 100, b: 1 },
      batch,
      roundsPerEpisode: 1,
      episodes: 2 * phaseRounds + 5,
      quantityMax: 100,
    },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy },
    ],
    training: { schedule: { kind: "alternating", phaseRounds, evaluateRounds: 5 } },
  } as ExperimentInput;
}

async function finalQuantities(h: Harness): Promise<{ leader: number; follower: number }> {
  const last = (await h.play()) as RoundRecord;
  const B = h.exp.market.batch;
  return {
    leader: meanOf(
      last,
      h.exp.firms.findIndex((f) => f.id === "leader"),
      B,
    ),
    follower: meanOf(
      last,
      h.exp.firms.findIndex((f) => f.id === "follower"),
      B,
    ),
  };
}

describe("hedge", () => {
  test("hedge - two full-information Hedge firms of one tier settle at Cournot's 30 each", async () => {
    const h = await Harness.create(cournot({ kind: "hedge" }, 300, 64), makeHedge);
    try {
      await h.play();
      for (const id of ["a", "b"]) {
        const p = h.policy(id) as HedgePolicy;
        expect(Math.abs(p.meanQuantity() - 30)).toBeLessThan(3);
        expect(Math.abs(p.mode() - 30)).toBeLessThanOrEqual(STEP);
      }
    } finally {
      await h.close();
    }
  });

  test("hedge - a follower learns its reaction function while the leader explores its whole grid", async () => {
    const h = await Harness.create(stackelberg({ kind: "hedge" }, 2, 128, 200), makeHedge);
    try {
      await h.play(200);
      const f = h.policy("follower") as HedgePolicy;
      // One strategy per committed leader quantity: its mode is the best reply (90 - q1) / 2, rounded to the grid.
      for (const q1 of [9, 27, 45, 63, 81])
        expect(Math.abs(f.mode(f.context(q1)) - (90 - q1) / 2)).toBeLessThanOrEqual(STEP / 2 + 1e-9);
      // Beyond the choke point (q1 >= 90) producing nothing is best.
      expect(f.mode(f.context(90))).toBe(0);
    } finally {
      await h.close();
    }
  });

  test("hedge - a leader evaluates quantities against the follower's learned response, not its last play", async () => {
    // Against an exact best-responding follower: anticipation reaches Stackelberg's 45, last-play evaluation Cournot's 30.
    const run = async (anticipation: string) => {
      const input = {
        name: "anticipation",
        seed: 3,
        market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 64, roundsPerEpisode: 1, episodes: 150, quantityMax: 100 },
        firms: [
          { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "hedge", anticipation } },
          { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        ],
      } as ExperimentInput;
      const h = await Harness.create(input, async (r, firm) =>
        firm.policy.kind === "hedge" ? new HedgePolicy(r, firm.policy) : new BestResponsePolicy(r),
      );
      await h.play();
      const l = h.policy("leader") as HedgePolicy;
      return { mode: l.mode(), response: l.learnedResponse(45) };
    };
    const learned = await run("learned");
    expect(Math.abs(learned.mode - 45)).toBeLessThanOrEqual(STEP);
    expect(learned.response).toBeCloseTo(22.5, 6);
    const none = await run("none");
    expect(Math.abs(none.mode - 30)).toBeLessThanOrEqual(2 * STEP);
    expect(none.response).toBeNaN();
  });

  for (const seed of [1, 2, 3]) {
    test(`hedge - alternating training reaches the Stackelberg equilibrium within 2% (seed ${seed})`, async () => {
      const h = await Harness.create(stackelberg({ kind: "hedge" }, seed, 128, 200), makeHedge);
      try {
        const r = await finalQuantities(h);
        expect(Math.abs(r.leader / 45 - 1), `leader ${r.leader}`).toBeLessThan(0.02);
        expect(Math.abs(r.follower / 22.5 - 1), `follower ${r.follower}`).toBeLessThan(0.02);
      } finally {
        await h.close();
      }
    });
  }
});

describe("q-learning", () => {
  test("q-learning - a memoryless follower learns its reaction function against a fixed leader", async () => {
    // The leader commits 11 quantities in turn, 4 rounds each, twice: every (state, quantity) pair of those states gets tried.
    const leaderQs = [0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90];
    const schedule = [...leaderQs, ...leaderQs].flatMap((q) => [q, q, q, q]);
    const input = {
      name: "reaction",
      seed: 6,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        batch: 256,
        roundsPerEpisode: 1,
        episodes: schedule.length,
        quantityMax: 100,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", schedule } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning" } },
      ],
    } as ExperimentInput;
    const h = await Harness.create(input, async (r, firm, exp) =>
      firm.policy.kind === "fixed" ? new FixedPolicy(r, firm.policy) : makeQ(r, firm, exp),
    );
    try {
      await h.play();
      const f = h.policy("follower") as QLearningPolicy;
      expect(f.metrics().states).toBe(leaderQs.length);
      for (const q1 of leaderQs) {
        const br = Math.max(0, (90 - q1) / 2);
        expect(Math.abs(f.greedyQuantity(q1) - br), `reply to ${q1}`).toBeLessThanOrEqual(STEP / 2 + 1e-9);
      }
    } finally {
      await h.close();
    }
  });

  for (const seed of [1, 2, 3]) {
    test(`q-learning - alternating training reaches the Stackelberg equilibrium within 2% (seed ${seed})`, async () => {
      const h = await Harness.create(stackelberg({ kind: "q-learning" }, seed, 1024, 300), makeQ);
      try {
        const r = await finalQuantities(h);
        expect(Math.abs(r.leader / 45 - 1), `leader ${r.leader}`).toBeLessThan(0.02);
        expect(Math.abs(r.follower / 22.5 - 1), `follower ${r.follower}`).toBeLessThan(0.02);
      } finally {
        await h.close();
      }
    }, 60_000);
  }

  test("q-learning - two Q-learners with one-period memory (the former defaults) settle between collusion and Cournot", async () => {
    // The former defaults, written out: 21 points over [0, 100], memory 1, alpha 0.15, Q starting at 0,
    // epsilon 1 decaying per round at the former per-sample rate times B.
    const policy = {
      kind: "q-learning",
      grid: { min: 0, max: 100, steps: 21 },
      memory: 1,
      alpha: 0.15,
      alphaSchedule: "constant",
      initialQ: 0,
      exploration: { kind: "epsilon-greedy", epsilon: 1, decay: 4e-5 * 64 },
    };
    const train = 1400;
    const h = await Harness.create(cournot(policy, train + 100, 64), makeQ);
    try {
      const first = await h.step();
      await h.play(train - 1);
      expect((h.policy("a") as QLearningPolicy).explorationValue()).toBeLessThan(0.05);
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
