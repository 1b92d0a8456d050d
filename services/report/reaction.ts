/**
 * Each follower's learned reaction function, read off its saved policy: the policy is rebuilt in
 * this process from the run's config (tfjs learners with their trainer inline: only the acting
 * network runs), loaded from `<run>/checkpoints/<firm>/`, switched to greedy play (the evaluation
 * phase) and asked to act at a grid of the earlier tiers' committed total. The true best response
 * is the oracle policy (the exact subgame equilibrium from market/economics) asked the same
 * questions. Other inputs are held at an episode's first round: no demand shock, last price and
 * total 0, the firm's marginal cost at zero cumulative output, no own last quantity.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import type { ActContext, Policy, RunView } from "../../agents/policy.js";
import { marginalCost } from "../../market/economics/index.js";
import { observationColumns } from "../../market/service/params.js";
import type { Experiment, ResolvedFirm } from "../config/index.js";

/** One follower's reaction function next to its true best response. */
export interface ReactionCurve {
  firmId: string;
  tier: number;
  policy: string;
  /** The earlier tiers' committed total at each evaluation point. */
  x: number[];
  /** The exact best response (subgame equilibrium quantity of this firm) at each x. */
  bestResponse: number[];
  /** The saved policy's greedy quantity at each x (mean over the run's B instances); absent with `note`. */
  learned?: number[];
  /** Why there is no learned curve (no checkpoint, a policy kind that saves none, a load failure). */
  note?: string;
}

/** Policies that learn and save checkpoints. */
const LEARNERS = new Set(["ppo", "mappo", "ddpg", "maddpg", "q-learning", "hedge"]);

/** The RunView a firm of `exp` gets on registration (what the firm runtime builds from RunParams). */
export function runViewOf(exp: Experiment, firm: ResolvedFirm, runId: string): RunView {
  const m = exp.market;
  const firms = exp.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost }));
  return {
    runId,
    firmId: firm.id,
    firmIndex: Math.max(
      0,
      firms.findIndex((f) => f.id === firm.id),
    ),
    tier: firm.tier,
    batch: m.batch,
    roundsPerEpisode: m.roundsPerEpisode,
    totalRounds: m.totalRounds,
    quantityMax: m.quantityMax,
    demand: m.demand,
    shockRho: m.dynamics.shock?.rho ?? 0,
    shockSigma: m.dynamics.shock?.sigma ?? 0,
    adjustmentCost: m.dynamics.adjustmentCost ?? 0,
    seed: exp.seed,
    firms,
    observationColumns: observationColumns(exp),
  };
}

/** The move request of an episode's first round where the earlier tiers committed `total` in every instance. */
function contextAt(view: RunView, exp: Experiment, firm: ResolvedFirm, total: number): ActContext {
  const B = view.batch;
  const earlier = exp.firms.filter((f) => f.tier < firm.tier);
  const committed = new Map(earlier.map((f) => [f.id, new Float64Array(B).fill(total / earlier.length)] as const));
  return {
    round: view.totalRounds,
    episode: Math.floor(view.totalRounds / view.roundsPerEpisode),
    step: 0,
    episodeEnd: view.roundsPerEpisode === 1,
    phase: "evaluate",
    // Every column is 0 at an episode start (no shock yet, no last round, step 0).
    observation: new Float64Array(B * view.observationColumns.length),
    committedTotal: new Float64Array(B).fill(total),
    committed,
    ownLastQuantity: new Float64Array(B),
    ownMarginalCost: new Float64Array(B).fill(marginalCost(firm.cost, 0, 0)),
  };
}

async function meanAction(p: Policy, ctx: ActContext): Promise<number> {
  const q = await p.act(ctx);
  let s = 0;
  for (const v of q) s += v;
  return s / q.length;
}

/**
 * The reaction curve of every firm of a later tier (tier >= 1) of the run stored in `dir`, at
 * `points` evenly spaced committed totals from 0 to the earlier tiers' largest total, or at the
 * committed totals `points` lists.
 */
export async function reactionCurves(
  dir: string,
  exp: Experiment,
  runId: string,
  points: number | readonly number[] = 41,
): Promise<ReactionCurve[]> {
  const followers = exp.firms.filter((f) => f.tier > 0);
  if (followers.length === 0) return [];
  // The oracle needs no tfjs; the policy factory (and with it tfjs) is loaded only for learners.
  const { BestResponsePolicy } = await import("../../agents/policies/best-response.js");
  const { FixedPolicy } = await import("../../agents/policies/fixed.js");
  const logger = pino({ level: "silent" });
  const out: ReactionCurve[] = [];
  for (const firm of followers) {
    const view = runViewOf(exp, firm, runId);
    const earlier = exp.firms.filter((f) => f.tier < firm.tier).length;
    const xMax = earlier * (Number.isFinite(view.quantityMax) ? view.quantityMax : 1);
    const x = typeof points === "number" ? Array.from({ length: points }, (_, k) => (xMax * k) / (points - 1)) : [...points];
    const oracle = new BestResponsePolicy(view);
    const bestResponse: number[] = [];
    for (const v of x) bestResponse.push(await meanAction(oracle, contextAt(view, exp, firm, v)));
    const curve: ReactionCurve = { firmId: firm.id, tier: firm.tier, policy: firm.policy.kind, x, bestResponse };
    out.push(curve);
    const learner = LEARNERS.has(firm.policy.kind);
    const cpDir = join(dir, "checkpoints");
    if (learner && !existsSync(join(cpDir, firm.id, "policy.json"))) {
      curve.note = `no checkpoint of ${firm.id} in ${cpDir}: the run saved no ${firm.policy.kind} policy to evaluate`;
      continue;
    }
    let policy: Policy | undefined;
    try {
      const p = firm.policy;
      if (p.kind === "fixed") policy = new FixedPolicy(view, p);
      else if (p.kind === "best-response") policy = new BestResponsePolicy(view);
      else {
        const { makePolicyFactory } = await import("../../agents/policies/index.js");
        policy = await makePolicyFactory(exp, firm, { logger, learner: { inline: true, logger } })(view);
      }
      if (learner) {
        if (!policy.load || !(await policy.load(cpDir))) {
          curve.note = `the ${firm.policy.kind} policy of ${firm.id} did not load its checkpoint`;
          continue;
        }
      }
      policy.onPhase?.({ name: "evaluate", round: view.totalRounds, training: false, exploring: false });
      const learned: number[] = [];
      for (const v of x) learned.push(await meanAction(policy, contextAt(view, exp, firm, v)));
      curve.learned = learned;
    } catch (err) {
      curve.note = `evaluating the ${firm.policy.kind} policy of ${firm.id} failed: ${(err as Error).message}`;
    } finally {
      await policy?.close?.().catch(() => undefined);
    }
  }
  return out;
}
