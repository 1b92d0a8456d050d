/**
 * What every learning policy needs besides its own config entry: the firm's objective, the
 * training mode (deterministic, or asynchronous with its policy-lag bound), and how many rounds it
 * will train (exploration is annealed over them).
 */
import type { Logger } from "pino";
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

/**
 * Rounds in which `firm` trains: all of them under the simultaneous schedule; under the
 * alternating one, its own phases (train-followers for tiers >= 1, train-leaders for tier 0) before
 * the evaluation rounds. Mirrors the market's phase plan.
 */
export function trainingRoundsOf(exp: Experiment, firm: ResolvedFirm): number {
  const total = exp.market.totalRounds;
  const s = exp.training.schedule;
  if (s.kind === "simultaneous") return total;
  const evalStart = Math.max(0, total - s.evaluateRounds);
  const mine = firm.tier === 0 ? "train-leaders" : "train-followers";
  let phase = s.firstPhase;
  let n = 0;
  for (let r = 0; r < evalStart; r += s.phaseRounds) {
    if (phase === mine) n += Math.min(r + s.phaseRounds, evalStart) - r;
    phase = phase === "train-followers" ? "train-leaders" : "train-followers";
  }
  return n;
}

/** The options for `firm` in `exp`. */
export function learnerOptions(exp: Experiment, firm: ResolvedFirm, logger?: Logger): LearnerOptions {
  return {
    objective: firm.objective,
    discount: firm.discount,
    deterministic: exp.training.deterministic,
    maxPolicyLag: exp.training.maxPolicyLag,
    trainingRounds: Math.max(1, trainingRoundsOf(exp, firm)),
    ...(logger ? { logger } : {}),
  };
}

/** Geometric interpolation from `initial` to `final` as progress goes 0 -> 1 (then stays at final). */
export function anneal(initial: number, final: number, progress: number): number {
  const p = Math.min(Math.max(progress, 0), 1);
  if (initial <= 0 || final <= 0) return initial + (final - initial) * p;
  return initial * (final / initial) ** p;
}
