import {
  type EpisodeProblem,
  type EquilibriumResult,
  EquilibriumError,
  type ReferencePath,
  referenceKind,
  solveCollusive,
  solveEquilibrium,
  solveReferencePath,
  stagePath,
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

/** The experiment's market and firms as an episode problem for the dynamic solvers. */
export function episodeProblemOf(exp: Experiment): EpisodeProblem {
  const qMax = exp.market.quantityMax;
  return {
    demand: exp.market.demand,
    firms: exp.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost, objective: f.objective, discount: f.discount })),
    dynamics: exp.market.dynamics,
    rounds: exp.market.roundsPerEpisode,
    ...(Number.isFinite(qMax) ? { quantityMax: qMax } : {}),
  };
}

/**
 * The per-step reference a run is compared with, and which one it is (see docs/equilibria.md):
 * the stage equilibrium where nothing carries over between rounds; otherwise the open-loop
 * equilibrium path of the episode (learning-by-doing, adjustment costs) or the stage equilibrium
 * in expectation over each step's shock (persistent shocks alone). Where the dynamic reference
 * cannot be computed, the stage equilibrium with the reason in its description.
 */
export function referenceFor(exp: Experiment): ReferencePath {
  const problem = episodeProblemOf(exp);
  try {
    return solveReferencePath(problem);
  } catch (err) {
    if (!(err instanceof EquilibriumError)) throw err;
    const stage = stagePath(problem);
    return {
      ...stage,
      description: `${stage.description}; the ${referenceKind(problem)} reference could not be computed: ${err.message}`,
    };
  }
}
