/**
 * What every learning policy needs besides its own config entry: the firm's objective, the
 * training mode (deterministic, or asynchronous with its policy-lag bound), and how many rounds it
 * will train (exploration is annealed over them).
 */
import type { Logger } from "pino";
import { type InstanceShare, instanceShareIn, phaseAt, phasesOf } from "../../services/config/phases.js";
import type { Experiment, ResolvedFirm } from "../../services/config/index.js";
import type { BackendPreference } from "./backend.js";
import type { TrainerHost } from "./host.js";

export interface LearnerOptions {
  /** "profit": reward is this round's profit, no bootstrapping. "valuation": discounted sum over the episode. */
  objective: "profit" | "valuation";
  /** gamma for the valuation objective. */
  discount: number;
  /** Synchronize updates at fixed rounds so that a seed fixes every action. */
  deterministic: boolean;
  /**
   * Asynchronous mode: most updates the acting weights may be behind the trainer while acting
   * goes on (default 1: double buffering). Acting waits when the trainer is further behind.
   */
  maxPolicyLag?: number;
  /**
   * The exploration window of the phase in force at `round`, as a share of quantityMax around the
   * greedy quantity (1: the whole range). The firm computes it from its copy of the experiment with
   * the market's own planner (phasesOf); the market's RunControl carries who explores, not the
   * window, so an outside agent in the exploring list chooses its own exploration.
   */
  exploreWidthAt?: (round: number) => number;
  /**
   * The instances this firm explores and learns in when it learns (its turn among the firms that
   * learn with it, services/config/phases.ts decides it); absent: all of them. The same in every
   * phase it learns in.
   */
  instanceShare?: InstanceShare;
  /** Rounds in which this firm trains over the run; exploration noise anneals over them. */
  trainingRounds: number;
  logger?: Logger;
  /** Train on the acting thread instead of a piscina worker (tests, tiny runs). */
  inline?: boolean;
  /** tfjs backend preference (default auto: node, wasm, cpu). */
  backend?: BackendPreference;
  /** Override of the compiled worker entry. */
  workerFile?: string;
  /** Builds the trainer host instead (tests: a trainer of controlled speed). */
  trainerHost?: () => TrainerHost;
}

/** Rounds in which `firm` trains, from the market's own phase plan (market/service/schedule.ts). */
export function trainingRoundsOf(exp: Experiment, firm: ResolvedFirm): number {
  const phases = phasesOf(exp);
  const total = exp.market.totalRounds;
  let n = 0;
  phases.forEach((p, k) => {
    const end = Math.min(total, phases[k + 1]?.startRound ?? total);
    if (p.training.includes(firm.id) && !p.exploring.includes(firm.id)) n += Math.max(0, end - p.startRound);
  });
  return n;
}

/** The exploration window of the phase in force at a round (services/config/phases.ts decides it). */
export function exploreWidthOf(exp: Experiment): (round: number) => number {
  const phases = phasesOf(exp);
  return (round) => phaseAt(phases, round).exploreWidth ?? 1;
}

/**
 * The instances `firm` explores and learns in, from the phase plan: its share in the phases it
 * learns in (in an alternating schedule a firm always learns with the same firms, so the share is
 * the same in each of them).
 */
export function instanceShareOf(exp: Experiment, firm: ResolvedFirm): InstanceShare {
  const p = phasesOf(exp).find((q) => q.training.includes(firm.id) && !q.exploring.includes(firm.id));
  return p ? instanceShareIn(p, firm.id, exp.market.batch) : { slot: 0, of: 1 };
}

/** The options for `firm` in `exp`. */
export function learnerOptions(exp: Experiment, firm: ResolvedFirm, logger?: Logger): LearnerOptions {
  return {
    objective: firm.objective,
    discount: firm.discount,
    deterministic: exp.training.deterministic,
    maxPolicyLag: exp.training.maxPolicyLag,
    trainingRounds: Math.max(1, trainingRoundsOf(exp, firm)),
    exploreWidthAt: exploreWidthOf(exp),
    instanceShare: instanceShareOf(exp, firm),
    ...(logger ? { logger } : {}),
  };
}

/** Geometric interpolation from `initial` to `final` as progress goes 0 -> 1 (then stays at final). */
export function anneal(initial: number, final: number, progress: number): number {
  const p = Math.min(Math.max(progress, 0), 1);
  if (initial <= 0 || final <= 0) return initial + (final - initial) * p;
  return initial * (final / initial) ** p;
}
