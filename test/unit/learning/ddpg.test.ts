/** DDPG and MADDPG: a learner facing a rival with a fixed quantity finds its best reply. */
import { describe, expect, test } from "vitest";
import { exploreWindow } from "../../../agents/learning/neural-policy.js";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type DdpgConfig, DdpgPolicy } from "../../../agents/policies/ddpg.js";
import { FixedPolicy } from "../../../agents/policies/fixed.js";
import { parseExperiment } from "../../../services/config/load.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { ctx, Harness, meanOf, meanProfit, run } from "./harness.js";

function duopoly(kind: string, episodes: number, extra: Record<string, unknown> = {}): ExperimentInput {
  return {
    name: "ddpg",
    seed: 11,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 128, roundsPerEpisode: 1, episodes, quantityMax: 100 },
    firms: [
      { id: "learner", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind, ...extra } },
      { id: "rival", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 30 } },
    ],
    training: { objective: "profit", deterministic: true },
  } as ExperimentInput;
}

async function play(kind: "ddpg" | "maddpg", rounds: number, extra: Record<string, unknown> = {}) {
  const h = await Harness.create(duopoly(kind, rounds + 1, extra), async (run, firm, exp) =>
    firm.policy.kind === "fixed"
      ? new FixedPolicy(run, firm.policy as { quantity: number })
      : DdpgPolicy.create(run, firm.policy as DdpgConfig, { ...learnerOptions(exp, firm), inline: true }),
  );
  const k = h.exp.firms.findIndex((f) => f.id === "learner");
  const profits: number[] = [];
  try {
    await h.play(rounds, (r) => profits.push(meanProfit(r, k, 128)));
    h.policy("learner").onPhase?.({ name: "evaluate", round: rounds, training: false, exploring: false });
    const last = await h.step();
    return {
      profits,
      greedy: meanOf(last, k, 128),
      greedyProfit: meanProfit(last, k, 128),
      metrics: h.policy("learner").metrics?.() ?? {},
    };
  } finally {
    await h.close();
  }
}

describe("ddpg", () => {
  test("ddpg - improves its profit against a fixed rival and plays close to the best reply (30)", async () => {
    const r = await play("ddpg", 300);
    const early = r.profits.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    const late = r.profits.slice(-20).reduce((a, b) => a + b, 0) / 20;
    expect(late).toBeGreaterThan(early + 100);
    expect(Math.abs(r.greedy - 30)).toBeLessThan(3);
    expect(r.greedyProfit).toBeGreaterThan(0.98 * 900);
  }, 60_000);

  test("maddpg - the centralized critic (joint quantities) learns the same best reply", async () => {
    const r = await play("maddpg", 300);
    expect(Math.abs(r.greedy - 30)).toBeLessThan(3);
  }, 60_000);
});

describe("maddpg critic inputs", () => {
  test("maddpg - a leader's critic leaves out its followers' quantities, a follower's sees its leader's", async () => {
    const exp: ExperimentInput = {
      name: "maddpg-inputs",
      seed: 1,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 4, roundsPerEpisode: 1, episodes: 2, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg" } },
        { id: "leader2", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg" } },
      ],
      training: { objective: "profit", deterministic: true },
    } as ExperimentInput;
    const h = await Harness.create(exp, async (run, firm, e) =>
      DdpgPolicy.create(run, firm.policy as DdpgConfig, { ...learnerOptions(e, firm), inline: true }),
    );
    try {
      const width = (id: string) => {
        const p = h.policy(id) as unknown as { dA: number; dC: number };
        return p.dC - p.dA;
      };
      // A leader sees the other leader (same tier, moves simultaneously), not the follower.
      expect(width("leader")).toBe(1);
      expect(width("leader2")).toBe(1);
      // The follower sees both leaders.
      expect(width("follower")).toBe(2);
      await h.play(2);
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe("exploring window", () => {
  test("exploreWindow - width w around the greedy share, shifted to stay inside [0, 1]", () => {
    const close = (a: [number, number], b: [number, number]) => {
      expect(a[0]).toBeCloseTo(b[0], 12);
      expect(a[1]).toBeCloseTo(b[1], 12);
    };
    close(exploreWindow(0.5, 0.2), [0.4, 0.6]);
    close(exploreWindow(0, 0.2), [0, 0.2]);
    close(exploreWindow(0.02, 0.2), [0, 0.2]);
    close(exploreWindow(0.98, 0.2), [0.8, 1]);
    close(exploreWindow(1, 0.2), [0.8, 1]);
    close(exploreWindow(0.3, 1), [0, 1]);
    for (let k = 1; k < 1000; k++) {
      const [lo, hi] = exploreWindow(k / 1000, k / 1000);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
    }
  });

  test("ddpg - a narrowed exploring phase plays uniformly in the window around the greedy quantity", async () => {
    const cfg = parseExperiment({
      market: { demand: { kind: "linear", a: 100, b: 1 } },
      firms: [{ id: "me", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ddpg" } }],
    }).firms[0]?.policy as DdpgConfig;
    const p = await DdpgPolicy.create(run(512), cfg, {
      objective: "profit",
      discount: 0.95,
      deterministic: true,
      trainingRounds: 100,
      inline: true,
      exploreWidthAt: (r) => (r >= 10 ? 0.2 : 1),
    });
    try {
      p.onPhase({ name: "evaluate", round: 5, training: false, exploring: false });
      const greedy = ((await p.act(ctx(512))) as Float64Array)[0] as number;
      p.onPhase({ name: "train-followers", round: 10, training: false, exploring: true });
      const a = (await p.act(ctx(512))) as Float64Array;
      const [lo, hi] = exploreWindow(greedy / 100, 0.2).map((v) => v * 100) as [number, number];
      expect(Math.min(...a)).toBeGreaterThanOrEqual(lo - 1e-9);
      expect(Math.max(...a)).toBeLessThanOrEqual(hi + 1e-9);
      expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(18);
    } finally {
      await p.close();
    }
  }, 60_000);
});
