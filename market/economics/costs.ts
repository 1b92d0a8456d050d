/** Production cost functions. K is the firm's cumulative own output (only learning-by-doing uses it). */

import { EconomicsConfigError, messages, requireNonNegative } from "./errors.js";
import type { CostSpec } from "./types.js";

/** Learning-by-doing marginal cost after cumulative output K: cMin + (c0 - cMin) exp(-rate K). */
export function learningMarginalCost(cost: { c0: number; cMin: number; rate: number }, K: number): number {
  return cost.cMin + (cost.c0 - cost.cMin) * Math.exp(-cost.rate * K);
}

/** Marginal cost at quantity q given cumulative output K. */
export function marginalCost(cost: CostSpec, q: number, K = 0): number {
  switch (cost.kind) {
    case "linear":
      return cost.c;
    case "quadratic":
      return cost.c + cost.d * q;
    case "learning-by-doing":
      return learningMarginalCost(cost, K);
  }
}

/** Total cost C(q; K), fixed cost included. */
export function totalCost(cost: CostSpec, q: number, K = 0): number {
  const fixed = cost.fixed ?? 0;
  switch (cost.kind) {
    case "linear":
      return fixed + cost.c * q;
    case "quadratic":
      return fixed + cost.c * q + 0.5 * cost.d * q * q;
    case "learning-by-doing":
      return fixed + learningMarginalCost(cost, K) * q;
  }
}

/**
 * Marginal cost written as mc(q) = c + d q at the given K. Every cost model has this form
 * (d = 0 except quadratic), which is what lets the solvers write best replies in closed form.
 */
export function marginalCostLine(cost: CostSpec, K = 0): { c: number; d: number } {
  switch (cost.kind) {
    case "linear":
      return { c: cost.c, d: 0 };
    case "quadratic":
      return { c: cost.c, d: cost.d };
    case "learning-by-doing":
      return { c: learningMarginalCost(cost, K), d: 0 };
  }
}

/** Throws EconomicsConfigError naming the bad field, e.g. "costs[1].d must be >= 0 (got -2)". */
export function validateCost(c: CostSpec, path = "cost"): void {
  if (typeof c !== "object" || c === null) throw new EconomicsConfigError(messages.notObject(path));
  if (c.fixed !== undefined) requireNonNegative(`${path}.fixed`, c.fixed);
  switch (c.kind) {
    case "linear":
      requireNonNegative(`${path}.c`, c.c);
      return;
    case "quadratic":
      requireNonNegative(`${path}.c`, c.c);
      requireNonNegative(`${path}.d`, c.d);
      return;
    case "learning-by-doing": {
      const c0 = requireNonNegative(`${path}.c0`, c.c0);
      const cMin = requireNonNegative(`${path}.cMin`, c.cMin);
      requireNonNegative(`${path}.rate`, c.rate);
      if (cMin > c0) throw new EconomicsConfigError(messages.lbdOrder(path, c0, cMin));
      return;
    }
    default:
      throw new EconomicsConfigError(messages.unknownKind(path, (c as { kind?: unknown }).kind));
  }
}
