/** Builds the run's public parameters (RunParams) from the experiment: what a firm learns on registration. */
import type { CostSpec, DemandSpec } from "../economics/index.js";
import { type CostMsg, DefaultAction, type DemandMsg, type RunParams, Role } from "../../services/bus/index.js";
import type { Experiment } from "../../services/config/index.js";

/** Every observation column the market knows (per market instance). */
export const OBSERVATION_NAMES = ["demand_shift", "last_price", "last_total_quantity", "step_fraction"] as const;
export type ObservationName = (typeof OBSERVATION_NAMES)[number];

/**
 * The observation columns of a run: only those that can vary. Without demand shocks the shift is
 * always 0; with one-round episodes the state resets every round, so the last price, last total and
 * step are constant. Leaving constant columns out keeps large batches cheap on the wire.
 */
export function observationNames(exp: Experiment): ObservationName[] {
  const cols: ObservationName[] = [];
  const shock = exp.market.dynamics.shock;
  if (shock && shock.sigma > 0) cols.push("demand_shift");
  if (exp.market.roundsPerEpisode > 1) cols.push("last_price", "last_total_quantity", "step_fraction");
  return cols;
}

export function demandMsg(d: DemandSpec): DemandMsg {
  switch (d.kind) {
    case "linear":
      return { linear: { a: d.a, b: d.b } };
    case "exponential":
      return { exponential: { a: d.a, b: d.b } };
    case "constant-elasticity":
      return { constantElasticity: { scale: d.A, elasticity: d.elasticity } };
  }
}

export function costMsg(c: CostSpec): CostMsg {
  const fixed = c.fixed ?? 0;
  switch (c.kind) {
    case "linear":
      return { linear: { c: c.c }, fixed };
    case "quadratic":
      return { quadratic: { c: c.c, d: c.d }, fixed };
    case "learning-by-doing":
      return { learningByDoing: { c0: c.c0, cMin: c.cMin, rate: c.rate }, fixed };
  }
}

/** Inverse of demandMsg (for firms and outside tools that read RunParams). */
export function demandFromMsg(m: DemandMsg): DemandSpec {
  if (m.linear) return { kind: "linear", a: m.linear.a ?? 0, b: m.linear.b ?? 0 };
  if (m.exponential) return { kind: "exponential", a: m.exponential.a ?? 0, b: m.exponential.b ?? 0 };
  if (m.constantElasticity) return { kind: "constant-elasticity", A: m.constantElasticity.scale ?? 0, elasticity: m.constantElasticity.elasticity ?? 0 };
  throw new Error("demand message has no model");
}

/** Inverse of costMsg. */
export function costFromMsg(m: CostMsg): CostSpec {
  const fixed = m.fixed ?? 0;
  if (m.linear) return { kind: "linear", c: m.linear.c ?? 0, fixed };
  if (m.quadratic) return { kind: "quadratic", c: m.quadratic.c ?? 0, d: m.quadratic.d ?? 0, fixed };
  if (m.learningByDoing)
    return { kind: "learning-by-doing", c0: m.learningByDoing.c0 ?? 0, cMin: m.learningByDoing.cMin ?? 0, rate: m.learningByDoing.rate ?? 0, fixed };
  throw new Error("cost message has no model");
}

const DEFAULT_ACTIONS = { last: DefaultAction.DEFAULT_LAST, zero: DefaultAction.DEFAULT_ZERO, exclude: DefaultAction.DEFAULT_EXCLUDE };

export function runParams(exp: Experiment, runId: string): RunParams {
  const m = exp.market;
  return {
    runId,
    batch: m.batch,
    roundsPerEpisode: m.roundsPerEpisode,
    totalRounds: m.totalRounds,
    tiers: exp.tiers,
    quantityMax: m.quantityMax,
    deadlineMs: m.deadlineMs,
    demand: demandMsg(m.demand),
    shockRho: m.dynamics.shock?.rho ?? 0,
    shockSigma: m.dynamics.shock?.sigma ?? 0,
    adjustmentCost: m.dynamics.adjustmentCost ?? 0,
    defaultAction: DEFAULT_ACTIONS[m.defaultAction],
    maxMisses: m.maxMisses,
    firms: exp.firms.map((f) => ({
      firmId: f.id,
      role: f.role === "leader" ? Role.ROLE_LEADER : Role.ROLE_FOLLOWER,
      tier: f.tier,
      cost: costMsg(f.cost),
    })),
    seed: exp.seed,
    observationNames: observationNames(exp),
  };
}
