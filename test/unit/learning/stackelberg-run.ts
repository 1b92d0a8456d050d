/**
 * The PPO acceptance scenario: alternating training on the linear duopoly a=100, b=1, c=10
 * (Stackelberg: leader 45, follower 22.5), in deterministic mode with inline trainers.
 */
import type { ExperimentInput } from "../../../services/config/schema.js";
import { learnerOptions, type LearnerOptions } from "../../../agents/learning/options.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import { Harness, meanOf } from "./harness.js";

/** Mean greedy quantities of the last evaluation round. */
export interface StackelbergResult {
  leader: number;
  follower: number;
}

export interface ScenarioOptions {
  seed: number;
  batch?: number;
  phaseRounds?: number;
  phases?: number;
  evaluateRounds?: number;
  policy?: Record<string, unknown>;
  learner?: Partial<LearnerOptions>;
}

export function scenario(o: ScenarioOptions): ExperimentInput {
  const phaseRounds = o.phaseRounds ?? 300;
  const evaluateRounds = o.evaluateRounds ?? 5;
  const phases = o.phases ?? 2;
  const policy = { kind: "ppo", ...(o.policy ?? {}) };
  return {
    name: "ppo-stackelberg",
    seed: o.seed,
    market: {
      demand: { kind: "linear", a: 100, b: 1 },
      batch: o.batch ?? 256,
      roundsPerEpisode: 1,
      episodes: phaseRounds * phases + evaluateRounds,
      quantityMax: 100,
    },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy },
    ],
    training: {
      objective: "profit",
      deterministic: true,
      schedule: { kind: "alternating", phaseRounds, evaluateRounds, firstPhase: "train-followers" },
    },
  } as ExperimentInput;
}

export async function runStackelberg(o: ScenarioOptions): Promise<StackelbergResult> {
  const h = await Harness.create(scenario(o), async (run, firm, exp) =>
    PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true, ...(o.learner ?? {}) }),
  );
  const B = h.exp.market.batch;
  const L = h.exp.firms.findIndex((f) => f.id === "leader");
  const F = h.exp.firms.findIndex((f) => f.id === "follower");
  try {
    const last = await h.play();
    if (!last) throw new Error("no rounds played");
    return { leader: meanOf(last, L, B), follower: meanOf(last, F, B) };
  } finally {
    await h.close();
  }
}
