/** Turns equilibrium quantities into a full EquilibriumResult (profits, price, welfare). */

import { marginalCost, totalCost } from "./costs.js";
import { consumerSurplus, price } from "./demand.js";
import type { EqFirm, EquilibriumResult } from "./equilibrium.js";
import type { DemandSpec } from "./types.js";

/**
 * Profits, price and welfare at the given quantities (by firm, in input order).
 * Producer surplus is the sum of profits (fixed costs included); welfare = CS + PS.
 */
export function buildResult(
  concept: EquilibriumResult["concept"],
  demand: DemandSpec,
  shift: number,
  firms: readonly EqFirm[],
  quantities: ArrayLike<number>,
): EquilibriumResult {
  let Q = 0;
  for (let i = 0; i < firms.length; i++) Q += quantities[i]!;
  const P = price(demand, Q, shift);
  let ps = 0;
  const out = firms.map((f, i) => {
    const q = quantities[i]!;
    const K = f.cumulative ?? 0;
    const profit = (q > 0 ? P * q : 0) - totalCost(f.cost, q, K);
    ps += profit;
    return { id: f.id, tier: f.tier, quantity: q, profit, marginalCost: marginalCost(f.cost, q, K) };
  });
  const cs = consumerSurplus(demand, Q, shift);
  return { concept, firms: out, totalQuantity: Q, price: P, consumerSurplus: cs, producerSurplus: ps, totalWelfare: cs + ps };
}
