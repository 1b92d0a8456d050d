/**
 * An independent, slow reference solver for k-tier Stackelberg games, used only to check the
 * aggregative solver in market/economics. It shares nothing with it but the demand and cost
 * functions: every firm's best reply is found by bisection on the derivative of its own profit
 * (analytic for the last tier; a five-point finite difference of the profit, with all later tiers
 * re-solved from scratch, for earlier tiers), and each tier's Nash equilibrium by Gauss-Seidel
 * iteration of best replies.
 *
 * The finite differences assume smooth profits: at a limit-pricing kink (an earlier tier holding
 * a later firm at exactly zero) the result is only as accurate as the stencil width, so tests
 * compare with it on games where every firm is active and check kinks by direct search instead.
 */

import type { EqFirm } from "../../../market/economics/equilibrium.js";
import { marginalCost, price, priceDerivative, totalCost } from "../../../market/economics/index.js";
import type { DemandSpec } from "../../../market/economics/types.js";

export interface BruteForceOptions {
  /** Relative convergence tolerance of the Gauss-Seidel sweeps. */
  sweepTol?: number;
  maxSweeps?: number;
}

/** Equilibrium quantities by input index. */
export function bruteForceEquilibrium(demand: DemandSpec, firms: readonly EqFirm[], opts: BruteForceOptions = {}): number[] {
  return bruteForceSubgame(demand, firms, 0, 0, opts);
}

/**
 * Quantities (by input index; 0 for firms in earlier levels) of the firms in move levels >= `level`
 * (0-based rank of the distinct tiers) when earlier levels committed `committed` in total.
 */
export function bruteForceSubgame(
  demand: DemandSpec,
  firms: readonly EqFirm[],
  level: number,
  committed: number,
  opts: BruteForceOptions = {},
): number[] {
  const tiers = [...new Set(firms.map((f) => f.tier))].sort((a, b) => a - b);
  const levels = tiers.map((t) => firms.flatMap((f, i) => (f.tier === t ? [i] : [])));
  const sweepTol = opts.sweepTol ?? 1e-14;
  const maxSweeps = opts.maxSweeps ?? 400;
  const K = (i: number) => firms[i]!.cumulative ?? 0;

  /** Quantities of levels >= j (by input index, 0 elsewhere) given earlier total Q. */
  function solveFrom(j: number, Q: number): number[] {
    const q = new Array<number>(firms.length).fill(0);
    if (j >= levels.length) return q;
    const members = levels[j]!;
    const later = (Y: number): number => {
      if (j + 1 >= levels.length) return 0;
      return solveFrom(j + 1, Y).reduce((s, v) => s + v, 0);
    };
    const profit = (i: number, qi: number, others: number): number => {
      const T = Q + others + qi + later(Q + others + qi);
      return qi * price(demand, T) - totalCost(firms[i]!.cost, qi, K(i));
    };
    const derivative = (i: number, qi: number, others: number): number => {
      if (j + 1 >= levels.length) {
        const T = Q + others + qi;
        return price(demand, T) + qi * priceDerivative(demand, T) - marginalCost(firms[i]!.cost, qi, K(i));
      }
      const h = 2e-3 * qi;
      return (
        (-profit(i, qi + 2 * h, others) +
          8 * profit(i, qi + h, others) -
          8 * profit(i, qi - h, others) +
          profit(i, qi - 2 * h, others)) /
        (12 * h)
      );
    };
    const bestReply = (i: number, others: number): number => {
      let hi = 1;
      while (derivative(i, hi, others) > 0) hi *= 2;
      let lo = 0;
      if (!(derivative(i, Math.min(1e-9, hi / 2), others) > 0)) return 0;
      for (let it = 0; it < 300 && hi - lo > 1e-15 * hi; it++) {
        const mid = 0.5 * (lo + hi);
        if (derivative(i, mid, others) > 0) lo = mid;
        else hi = mid;
      }
      return 0.5 * (lo + hi);
    };

    const own = new Map<number, number>(members.map((i) => [i, 0]));
    for (let sweep = 0; sweep < maxSweeps; sweep++) {
      let change = 0;
      let total = 0;
      for (const i of members) {
        let others = 0;
        for (const k of members) if (k !== i) others += own.get(k)!;
        const r = bestReply(i, others);
        change = Math.max(change, Math.abs(r - own.get(i)!));
        own.set(i, r);
        total += r;
      }
      if (members.length === 1 || change <= sweepTol * Math.max(total, 1e-12)) break;
    }
    let X = 0;
    for (const i of members) {
      q[i] = own.get(i)!;
      X += q[i]!;
    }
    const rest = solveFrom(j + 1, Q + X);
    for (let i = 0; i < q.length; i++) q[i] = q[i]! + rest[i]!;
    return q;
  }

  return solveFrom(level, committed);
}
