import {
  type EquilibriumResult,
  solveCollusive,
  solveEquilibrium,
} from "../../market/economics/index.js";
import type { Experiment } from "../config/index.js";

/** The benchmarks a run is compared with: the configured tier structure, plus Cournot and collusion. */
export interface Equilibria {
  stackelberg: EquilibriumResult;
  cournot: EquilibriumResult;
  collusive: EquilibriumResult;
}

/**
 * Exact equilibria of the experiment's one-shot stage game (demand shock at its mean, zero
 * cumulative output, no adjustment cost: the steady state a static analysis compares with).
 */
export function equilibriaFor(exp: Experiment): Equilibria {
  const firms = exp.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost }));
  return {
    stackelberg: solveEquilibrium(exp.market.demand, firms),
    cournot: solveEquilibrium(
      exp.market.demand,
      firms.map((f) => ({ ...f, tier: 0 })),
    ),
    collusive: solveCollusive(exp.market.demand, firms),
  };
}
