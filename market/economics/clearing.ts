/**
 * Vectorized market clearing: B instances' quantities in, prices and each firm's profit out.
 * A pure function of (model, state, quantities); quantities are assumed already validated
 * (finite, >= 0) by the caller, which is the market service's job.
 */

import { priceBatch } from "./demand.js";
import { checkShapes } from "./dynamics.js";
import { EconomicsConfigError, messages } from "./errors.js";
import type { ClearResult, MarketModel, MarketState } from "./types.js";

/** Preallocated output for `clear`, for F firms and B instances. */
export function allocClearResult(F: number, B: number): ClearResult {
  return {
    prices: new Float64Array(B),
    totalQuantity: new Float64Array(B),
    profits: new Float64Array(F * B),
    revenues: new Float64Array(F * B),
    costs: new Float64Array(F * B),
    marginalCosts: new Float64Array(F * B),
  };
}

/**
 * Clears one round over the batch. Does not mutate `state`; allocation-free when `out` is given.
 * Costs are production cost at (q, K = state.cumulative) plus the adjustment cost
 * (kappa/2)(q - lastQuantity)^2, which is not charged in an episode's first round.
 * A firm selling nothing earns zero revenue even where the price is infinite
 * (constant elasticity at zero total output).
 *
 * @param quantities F*B firm-major (`quantities[f * B + i]`).
 */
export function clear(model: MarketModel, state: MarketState, quantities: Float64Array, out?: ClearResult): ClearResult {
  const B = model.batch;
  const costs = model.costs;
  const F = costs.length;
  if (quantities.length !== F * B) throw new EconomicsConfigError(messages.wrongLength("quantities", F * B, quantities.length));
  checkShapes(model, state);
  const r = out ?? allocClearResult(F, B);
  if (r.prices.length !== B || r.profits.length !== F * B) {
    throw new EconomicsConfigError(messages.wrongLength("out.profits", F * B, r.profits.length));
  }

  const total = r.totalQuantity;
  total.set(quantities.subarray(0, B));
  for (let f = 1; f < F; f++) {
    const off = f * B;
    for (let i = 0; i < B; i++) total[i] = total[i]! + quantities[off + i]!;
  }
  const prices = priceBatch(model.demand, total, state.shift, r.prices);

  const kappaHalf = state.firstRound ? 0 : 0.5 * (model.dynamics.adjustmentCost ?? 0);
  const last = state.lastQuantity;
  const cum = state.cumulative;
  const { profits, revenues, marginalCosts } = r;
  const costOut = r.costs;

  for (let f = 0; f < F; f++) {
    const spec = costs[f]!;
    const off = f * B;
    const fixed = spec.fixed ?? 0;
    // One loop per cost kind keeps the inner loop free of dispatch.
    switch (spec.kind) {
      case "linear": {
        const c = spec.c;
        for (let i = 0; i < B; i++) {
          const k = off + i;
          const q = quantities[k]!;
          const dq = q - last[k]!;
          const rev = q > 0 ? prices[i]! * q : 0;
          const cost = fixed + c * q + kappaHalf * dq * dq;
          revenues[k] = rev;
          costOut[k] = cost;
          profits[k] = rev - cost;
          marginalCosts[k] = c;
        }
        break;
      }
      case "quadratic": {
        const { c, d } = spec;
        const halfD = 0.5 * d;
        for (let i = 0; i < B; i++) {
          const k = off + i;
          const q = quantities[k]!;
          const dq = q - last[k]!;
          const rev = q > 0 ? prices[i]! * q : 0;
          const cost = fixed + (c + halfD * q) * q + kappaHalf * dq * dq;
          revenues[k] = rev;
          costOut[k] = cost;
          profits[k] = rev - cost;
          marginalCosts[k] = c + d * q;
        }
        break;
      }
      case "learning-by-doing": {
        const { c0, cMin, rate } = spec;
        const span = c0 - cMin;
        for (let i = 0; i < B; i++) {
          const k = off + i;
          const q = quantities[k]!;
          const dq = q - last[k]!;
          const mc = cMin + span * Math.exp(-rate * cum[k]!);
          const rev = q > 0 ? prices[i]! * q : 0;
          const cost = fixed + mc * q + kappaHalf * dq * dq;
          revenues[k] = rev;
          costOut[k] = cost;
          profits[k] = rev - cost;
          marginalCosts[k] = mc;
        }
        break;
      }
    }
  }
  return r;
}
