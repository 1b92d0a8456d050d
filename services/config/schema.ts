/**
 * The experiment file's schema: one YAML file describes a run. Every field is validated with zod;
 * a bad file gets one line per bad field naming its path and what was expected.
 */
import { z } from "zod";
import { roleOfTier } from "../bus/protocol.js";

const finite = () => z.number().refine(Number.isFinite, { message: "expected a finite number" });
const positive = () => finite().refine((v) => v > 0, { message: "expected a number > 0" });
const nonNegative = () => finite().refine((v) => v >= 0, { message: "expected a number >= 0" });
const posInt = () => z.number().int({ message: "expected a positive integer" }).min(1, { message: "expected a positive integer" });

export const demandSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("linear"), a: positive(), b: positive() }),
  z.strictObject({
    kind: z.literal("constant-elasticity"),
    A: positive(),
    // With elasticity <= 1 revenue grows as output shrinks: no firm has a profit-maximising quantity.
    elasticity: finite().refine((v) => v > 1, { message: "expected a number > 1 (with elasticity <= 1 no equilibrium exists)" }),
  }),
  z.strictObject({ kind: z.literal("exponential"), a: positive(), b: positive() }),
]);

export const costSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("linear"), c: nonNegative(), fixed: nonNegative().optional() }),
  z.strictObject({ kind: z.literal("quadratic"), c: nonNegative(), d: nonNegative(), fixed: nonNegative().optional() }),
  z
    .strictObject({
      kind: z.literal("learning-by-doing"),
      c0: nonNegative(),
      cMin: nonNegative(),
      rate: nonNegative(),
      fixed: nonNegative().optional(),
    })
    .refine((c) => c.cMin <= c.c0, { message: "cMin must be <= c0", path: ["cMin"] }),
]);

const dynamicsSchema = z.strictObject({
  shock: z
    .strictObject({
      rho: finite().refine((v) => v > -1 && v < 1, { message: "expected a number in (-1, 1)" }),
      sigma: nonNegative(),
    })
    .optional(),
  adjustmentCost: nonNegative().optional(),
});

/** Policies a firm can run; learners are added here as they are implemented. */
export const POLICY_KINDS = ["fixed", "best-response", "ppo", "mappo", "ddpg", "maddpg", "q-learning", "hedge"] as const;

/** Learners with a centralized critic: they (and only they) receive the market's training subject. */
export const CTDE_POLICY_KINDS: readonly string[] = ["mappo", "maddpg"];

/** Whether a firm running policy `kind` is a CTDE learner. */
export function isCtdeLearner(kind: string): boolean {
  return CTDE_POLICY_KINDS.includes(kind);
}

/**
 * Whether a firm running policy `kind` receives the market's training subject in a run with
 * schedule `schedule`: CTDE learners do, except under decentralized execution (an evaluation run),
 * where the market publishes no training-only message and no firm may subscribe to one.
 */
export function receivesTrainingInfo(kind: string, schedule: { kind: string }): boolean {
  return isCtdeLearner(kind) && schedule.kind !== "evaluation";
}

/** Rounds at the end of a run played frozen and greedy (the summary's final window): all of an evaluation run. */
export function evaluationRoundsOf(schedule: { kind: string; evaluateRounds?: number }, totalRounds: number): number {
  if (schedule.kind === "evaluation") return totalRounds;
  return schedule.kind === "alternating" ? (schedule.evaluateRounds ?? 0) : 0;
}

const fixedPolicy = z
  .strictObject({
    kind: z.literal("fixed"),
    /** Constant quantity in every round and instance. */
    quantity: nonNegative().optional(),
    /** Or a schedule: quantity i is played in round i (the last one repeats). */
    schedule: z.array(nonNegative()).min(1).optional(),
  })
  .refine((p) => (p.quantity === undefined) !== (p.schedule === undefined), {
    message: "a fixed policy needs exactly one of quantity or schedule",
  });

const bestResponsePolicy = z.strictObject({ kind: z.literal("best-response") });

const netSchema = z.strictObject({
  hidden: z.array(posInt()).max(4).default([32, 32]),
  learningRate: positive().default(3e-3),
});

const ppoPolicy = z.strictObject({
  kind: z.enum(["ppo", "mappo"]),
  net: netSchema.default({ hidden: [32, 32], learningRate: 3e-3 }),
  /** Initial and final standard deviation of the Gaussian policy, as a share of quantityMax. */
  initialStd: positive().default(0.15),
  finalStd: positive().default(0.005),
  epochs: posInt().default(4),
  minibatch: posInt().default(256),
  clip: positive().default(0.2),
  /** Rounds of experience gathered between updates. */
  horizon: posInt().default(1),
  lambda: nonNegative().default(0.95),
});

const ddpgPolicy = z.strictObject({
  kind: z.enum(["ddpg", "maddpg"]),
  net: netSchema.default({ hidden: [32, 32], learningRate: 1e-3 }),
  noise: positive().default(0.1),
  finalNoise: positive().default(0.005),
  tau: positive().default(0.05),
  bufferSize: posInt().default(65536),
  minibatch: posInt().default(256),
});

/**
 * The quantity grid of the tabular learners: `steps` evenly spaced points from `min` to `max`.
 * `max` defaults to the largest quantity any firm of the run could produce profitably (where the
 * price, with the demand shock three stationary standard deviations above its mean, falls to a
 * firm's lowest marginal cost), capped at quantityMax: every firm gets the same lattice. With the
 * default 401 points a linear market's Stackelberg duopoly quantities ((a - c) / 2b and
 * (a - c) / 4b) lie on the grid when both firms have the same linear cost.
 */
const gridSchema = z.strictObject({ min: nonNegative().default(0), max: positive().optional(), steps: posInt().default(401) });

const unitInterval = () => finite().refine((v) => v >= 0 && v <= 1, { message: "expected a number in [0, 1]" });
const learningRate = () => finite().refine((v) => v > 0 && v <= 1, { message: "expected a number in (0, 1]" });
const discountFactor = () => finite().refine((v) => v >= 0 && v < 1, { message: "expected a number in [0, 1)" });

/** A field an older version had, refused with what replaces it. */
const removedField = (message: string) =>
  z
    .unknown()
    .refine(() => false, { message })
    .optional();

/**
 * Q-learning exploration. Both schedules decay per round: t counts the rounds this firm has trained
 * (one per round, whatever the batch size B), value_t = max(min, value_0 * exp(-decay * t)).
 */
const qExplorationSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("epsilon-greedy"),
    /** Probability of a uniformly random grid quantity at t = 0. */
    epsilon: unitInterval().default(0.1),
    decay: nonNegative().default(0.01),
    min: unitInterval().default(0),
  }),
  z.strictObject({
    kind: z.literal("boltzmann"),
    /** Softmax temperature at t = 0, in units of the firm's monopoly profit per round (the unit of its Q-values). */
    temperature: positive(),
    decay: nonNegative().default(0),
    /** Temperature floor; at 0 the choice becomes greedy as the temperature vanishes. */
    min: nonNegative().default(0),
  }),
]);

const qLearningPolicy = z.strictObject({
  kind: z.literal("q-learning"),
  grid: gridSchema.default({ min: 0, steps: 401 }),
  /** Learning rate. */
  alpha: learningRate().default(0.1),
  /** constant: alpha every update; visits: max(alpha, 1/n) on the n-th update of a state-action pair (exact means first). */
  alphaSchedule: z.enum(["constant", "visits"]).default("visits"),
  /**
   * gamma of the update target r + gamma max Q(s', .), s' the state at the next round: the repeated
   * game as one continuing task (Waltman & Kaymak 2008, Calvano et al. 2020); episode ends do not cut
   * it. The firm's `objective: valuation` discounts within episodes instead; a firm uses one of them.
   */
  discount: discountFactor().default(0),
  /** 0: the state is the earlier tiers' committed total only (a leader has one state); 1: plus every firm's last-round quantity. */
  memory: z.union([z.literal(0), z.literal(1)]).default(0),
  exploration: qExplorationSchema.default({ kind: "epsilon-greedy", epsilon: 0.1, decay: 0.01, min: 0 }),
  /**
   * Initial Q-values: a number, in units of the firm's monopoly profit per round (times the
   * discounted number of rounds a Q-value sums, 1/(1 - discount)); 1 is optimistic, so greedy play
   * tries every quantity. `uniform-opponents`: each quantity's expected profit when every other firm
   * plays this firm's grid uniformly at random, discounted the same way (Calvano et al. 2020).
   */
  initialQ: z.union([finite(), z.literal("uniform-opponents")]).default(1),
  /** One Q-table per market instance (B independent learning sessions) instead of one table learning from all B. */
  tablePerInstance: z.boolean().default(false),
  epsilon: removedField("removed: use exploration: { kind: epsilon-greedy, epsilon, decay } (decay is now per round)"),
  epsilonDecay: removedField(
    "removed: it decayed per sample (rounds x B); use exploration: { kind: epsilon-greedy, epsilon, decay } with decay per round",
  ),
});

const hedgePolicy = z.strictObject({
  kind: z.literal("hedge"),
  grid: gridSchema.default({ min: 0, steps: 401 }),
  /** Learning rate: log-weights grow by eta * profit / monopoly profit per instance and round. */
  eta: positive().default(0.05),
  /**
   * How a firm with later tiers evaluates its quantities. learned: against the later tiers' response
   * to each quantity, from a reaction table it learns from the outcomes it sees; none: against their
   * last play (a leader that ignores its influence, which lands on Cournot).
   */
  anticipation: z.enum(["learned", "none"]).default("learned"),
  /** Weight of a new observation in the reaction table (exponential moving average). */
  reactionRate: learningRate().default(0.5),
});

export const policySchema = z.discriminatedUnion("kind", [
  fixedPolicy,
  bestResponsePolicy,
  ppoPolicy,
  ddpgPolicy,
  qLearningPolicy,
  hedgePolicy,
]);

const objectiveSchema = z.enum(["profit", "valuation"]);

export const firmSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "expected 1-64 characters of A-Z a-z 0-9 _ -" }),
  role: z.enum(["leader", "follower"]),
  /** Tier 0 is the leaders'; followers default to tier 1. */
  tier: z.number().int().min(0).optional(),
  cost: costSchema,
  policy: policySchema,
  objective: objectiveSchema.optional(),
  discount: finite()
    .refine((v) => v >= 0 && v < 1, { message: "expected a number in [0, 1)" })
    .optional(),
});

const scheduleSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("simultaneous") }),
  z.strictObject({
    kind: z.literal("alternating"),
    /** Rounds of each phase; phases cycle train-followers, train-leaders. */
    phaseRounds: posInt().default(100),
    /** Rounds at the end with every policy frozen and greedy (evaluation). */
    evaluateRounds: z.number().int().min(0).default(20),
    firstPhase: z.enum(["train-followers", "train-leaders"]).default("train-followers"),
    /**
     * Where exploring leaders play in the follower phases that come after a whole-range follower
     * phase and a leader phase: uniformly in a window of this share of quantityMax centred on the
     * leader's greedy quantity (shifted to stay inside [0, quantityMax]). The first follower phase,
     * and every one with exploreWidth 1, spans the whole range. A follower's reaction function is
     * then fitted most densely where the leaders actually play, and its slope there decides where
     * the leaders settle (docs/alternating.md has the measurements behind the default). Honoured by
     * the neural learners; the tabular ones keep a table over the whole grid and explore it
     * uniformly. The window is not in the market's RunControl: an outside agent in the exploring
     * list chooses its own exploration.
     */
    exploreWidth: finite()
      .refine((v) => v > 0 && v <= 1, { message: "expected a number in (0, 1]" })
      .default(0.2),
    /**
     * PPO firms that learn in the same phase take turns over the B instances: the k-th of the n
     * PPO firms learning in the phase (in id order) adds its exploration noise only in the
     * instances i with i mod n = k, plays its greedy quantity in the others and learns from its
     * own share only. Its reward then never carries another PPO learner's exploration noise,
     * which its own critic cannot explain (docs/alternating.md measures what that noise does to
     * two PPO followers). Inert with fewer than two PPO firms learning at a time (a duopoly), and
     * off when B < 2n. MAPPO (whose critic sees its tier-mates' quantities), DDPG, MADDPG and
     * the tabular learners explore in every instance and are not counted. Firms are counted by
     * their declared kind, so an outside agent in a slot declared `ppo` counts: like the window,
     * the split is not in the market's RunControl, so declare that slot with another kind or set
     * splitInstances: false.
     */
    splitInstances: z.boolean().default(true),
  }),
  /**
   * Decentralized execution of trained policies (`stackelberg evaluate`): every firm frozen and
   * greedy for the whole run, and no training-only message (the market's training subject) is
   * published or may be subscribed to.
   */
  z.strictObject({ kind: z.literal("evaluation") }),
]);

export const experimentSchema = z
  .strictObject({
    name: z.string().min(1).default("experiment"),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    market: z.strictObject({
      demand: demandSchema,
      dynamics: dynamicsSchema.default({}),
      /** B: market instances cleared per round. */
      batch: posInt().max(1_000_000).default(1),
      /** T: rounds per episode. */
      roundsPerEpisode: posInt().default(1),
      episodes: posInt().default(100),
      /** Upper end of the allowed quantity range [0, quantityMax]; defaults from demand. */
      quantityMax: positive().optional(),
      deadlineMs: posInt().max(3_600_000, { message: "expected at most 3600000 (one hour)" }).default(5000),
      defaultAction: z.enum(["last", "zero", "exclude"]).default("last"),
      maxMisses: posInt().default(3),
    }),
    firms: z.array(firmSchema).min(1),
    /** How `stackelberg run` lays the run out on this machine (the market and the firms ignore it). */
    deployment: z
      .strictObject({
        /** Firm host processes `run` starts, the firms split among them (default min(firms, 4); `run --hosts` overrides). */
        hosts: posInt().optional(),
      })
      .default({}),
    training: z
      .strictObject({
        objective: objectiveSchema.default("profit"),
        discount: finite()
          .refine((v) => v >= 0 && v < 1, { message: "expected a number in [0, 1)" })
          .default(0.95),
        schedule: scheduleSchema.default({ kind: "simultaneous" }),
        /** Synchronize updates at fixed points so the same seed gives a byte-identical run. */
        deterministic: z.boolean().default(false),
        /**
         * Default (asynchronous) mode: most updates a learner's acting weights may be behind its
         * trainer while it keeps acting (1: double-buffered collection). When the trainer is further
         * behind, acting waits; experience is never dropped. Ignored in deterministic mode (lag 0).
         */
        maxPolicyLag: posInt().max(16).default(1),
        /** Save policies every this many rounds (0: only at the end). */
        checkpointEvery: z.number().int().min(0).default(0),
      })
      .default({
        objective: "profit",
        discount: 0.95,
        schedule: { kind: "simultaneous" },
        deterministic: false,
        maxPolicyLag: 1,
        checkpointEvery: 0,
      }),
  })
  .superRefine((cfg, ctx) => {
    for (const i of structureIssues(cfg.firms)) ctx.addIssue({ code: "custom", path: i.path, message: i.message });
    const maxTier = Math.max(...cfg.firms.map((f) => f.tier ?? (f.role === "leader" ? 0 : 1)));
    if (cfg.training.schedule.kind === "alternating" && maxTier === 0)
      ctx.addIssue({ code: "custom", path: ["training", "schedule", "kind"], message: "alternating training needs leaders and followers" });
    const d = cfg.market.demand;
    if (d.kind === "constant-elasticity" && cfg.market.quantityMax === undefined)
      ctx.addIssue({ code: "custom", path: ["market", "quantityMax"], message: "required for constant-elasticity demand (no natural maximum)" });
  });

/**
 * Rules across firms (unique ids, roles and tiers, no tier gaps, a follower needs a leader).
 * Works on partially valid input too, so a file with other errors still hears about these.
 */
export function structureIssues(firmsRaw: unknown): { path: (string | number)[]; message: string }[] {
  if (!Array.isArray(firmsRaw)) return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  const firms = firmsRaw.map((f) => {
    const o = (typeof f === "object" && f !== null ? f : {}) as Record<string, unknown>;
    const role = o.role === "leader" || o.role === "follower" ? o.role : undefined;
    const tier = Number.isInteger(o.tier) ? (o.tier as number) : role === "leader" ? 0 : role === "follower" ? 1 : undefined;
    return { id: typeof o.id === "string" ? o.id : undefined, role, tier };
  });
  const ids = new Map<string, number>();
  firms.forEach((f, i) => {
    if (f.id !== undefined) {
      const prev = ids.get(f.id);
      if (prev !== undefined) out.push({ path: ["firms", i, "id"], message: `duplicate firm id "${f.id}" (also firms[${prev}])` });
      else ids.set(f.id, i);
    }
    // The protocol's rule (roleOfTier): tier 0 holds the leaders, later tiers the followers.
    if (f.role !== undefined && f.tier !== undefined && roleOfTier(f.tier) !== f.role)
      out.push({ path: ["firms", i, "tier"], message: f.role === "leader" ? "a leader moves in tier 0" : "a follower moves in tier 1 or later" });
  });
  const tiers = new Set(firms.map((f) => f.tier).filter((t): t is number => t !== undefined));
  if (tiers.size === 0) return out;
  const maxTier = Math.max(...tiers);
  for (let t = 0; t < maxTier; t++) {
    if (tiers.has(t)) continue;
    const i = firms.findIndex((f) => (f.tier ?? -1) > t);
    out.push({
      path: ["firms", i, t === 0 && firms[i]?.role === "follower" ? "role" : "tier"],
      message: t === 0 ? `a follower needs a leader: no firm has role "leader"` : `tier ${t} has no firm; tiers must be 0, 1, 2, ... without gaps`,
    });
  }
  return out;
}

export type ExperimentInput = z.input<typeof experimentSchema>;
export type ParsedExperiment = z.output<typeof experimentSchema>;
export type FirmConfig = ParsedExperiment["firms"][number];
export type PolicyConfig = FirmConfig["policy"];
