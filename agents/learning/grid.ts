/** The quantity grid of the tabular learners (Q-learning, Hedge): evenly spaced points. */

import { marginalCost } from "../../market/economics/costs.js";
import { price } from "../../market/economics/demand.js";
import type { CostSpec } from "../../market/economics/index.js";
import { ConfigError } from "../../services/errors.js";
import type { RunView } from "../policy.js";

export interface GridSpec {
  min: number;
  max?: number | undefined;
  steps: number;
}

export class QuantityGrid {
  readonly points: Float64Array;
  readonly min: number;
  readonly max: number;
  /** Distance between neighbouring points (1 for a one-point grid). */
  readonly step: number;

  /**
   * `steps` points including both ends; `max` defaults to `defaultMax` (else quantityMax) and is
   * capped at quantityMax.
   */
  constructor(spec: GridSpec, quantityMax: number, path = "policy.grid", defaultMax = quantityMax) {
    const max = Math.min(spec.max ?? defaultMax, quantityMax);
    if (!Number.isInteger(spec.steps) || spec.steps < 1)
      throw new ConfigError(`${path}.steps must be a positive integer (got ${spec.steps})`);
    if (!(spec.min >= 0 && spec.min <= max)) throw new ConfigError(`${path}.min must be in [0, ${max}] (got ${spec.min})`);
    this.min = spec.min;
    this.max = spec.steps === 1 ? spec.min : max;
    this.step = spec.steps === 1 || this.max === this.min ? 1 : (this.max - this.min) / (spec.steps - 1);
    this.points = new Float64Array(spec.steps);
    for (let k = 0; k < spec.steps; k++) this.points[k] = spec.steps === 1 ? this.min : this.min + k * this.step;
  }

  get size(): number {
    return this.points.length;
  }

  /** Index of the grid point nearest to q. */
  nearest(q: number): number {
    return this.index(q, this.points.length - 1);
  }

  /**
   * Index of q on this grid's lattice extended past its end to `maxIndex` (committed totals of
   * several firms reach beyond one firm's grid).
   */
  index(q: number, maxIndex: number): number {
    if (!(this.points.length > 1) || !Number.isFinite(q)) return 0;
    const k = Math.round((q - this.min) / this.step);
    return Math.min(Math.max(k, 0), maxIndex);
  }
}

/**
 * The default upper end of every firm's grid: the largest quantity any firm of the run could
 * produce profitably. For each firm that is where the price, with the demand shock three stationary
 * standard deviations above its mean, falls to the firm's lowest marginal cost at zero output
 * (cMin for learning-by-doing): past it the firm's marginal profit is negative whatever the others
 * produce (price below marginal cost, marginal revenue below price), so no best reply lies beyond
 * it. The maximum over firms (from the public costs, so every firm computes the same number) gives
 * all firms one lattice: a leader's grid quantities are exact states of a follower's table.
 * Capped at quantityMax, which it is when the price never falls that low.
 */
export function relevantQuantityMax(run: RunView): number {
  let out = 0;
  for (const f of run.firms) out = Math.max(out, firmQuantityBound(run, f.cost));
  return out > 0 ? Math.min(out, run.quantityMax) : run.quantityMax;
}

function firmQuantityBound(run: RunView, cost: CostSpec): number {
  const mc0 = cost.kind === "learning-by-doing" ? cost.cMin : marginalCost(cost, 0);
  const rho = Math.min(Math.abs(run.shockRho), 0.999);
  const shift = (3 * run.shockSigma) / Math.sqrt(1 - rho * rho);
  // Closed form for linear demand, so that the grid's points are exact fractions of it.
  if (run.demand.kind === "linear") {
    const q = (run.demand.a + shift - mc0) / run.demand.b;
    return Math.min(Math.max(q, 0), run.quantityMax);
  }
  const above = (q: number) => price(run.demand, q, shift) > mc0;
  if (above(run.quantityMax)) return run.quantityMax;
  let lo = 0;
  let hi = run.quantityMax;
  for (let k = 0; k < 80; k++) {
    const mid = 0.5 * (lo + hi);
    if (above(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
