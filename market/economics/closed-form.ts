/**
 * Closed-form equilibria for linear demand P = max(0, a - bQ) with constant marginal costs
 * (asymmetric allowed). Firms that would produce a negative quantity produce zero; the active
 * sets are found exactly, including a leader limit-pricing followers out of the market.
 */

import { requireNonNegative, requirePositive } from "./errors.js";
import type { EqFirm, EquilibriumResult } from "./equilibrium.js";
import type { DemandSpec } from "./types.js";
import { buildResult } from "./welfare.js";

/**
 * Cournot-Nash among firms with costs `costs` facing P = alpha - beta X (X their total), written
 * into out[0..n-1]. Returns the price. Allocation-free apart from a sort of indices.
 */
export function cournotCore(alpha: number, beta: number, costs: ArrayLike<number>, out: Float64Array): number {
  const n = costs.length;
  const order = sortedIndices(costs);
  // With costs ascending, the active set is a prefix: firm k joins iff it is cheaper than the
  // price the first k-1 firms would set on their own.
  let S = 0;
  let P = alpha;
  for (let t = 0; t < n; t++) {
    const c = costs[order[t]!]!;
    if (!(c < P)) break;
    S += c;
    P = (alpha + S) / (t + 2);
  }
  for (let i = 0; i < n; i++) {
    const c = costs[i]!;
    out[i] = P > c ? (P - c) / beta : 0;
  }
  return Math.max(P, 0);
}

/**
 * Two-tier Stackelberg with linear demand: leaders (costs cL) play Cournot among themselves
 * facing the price that results after followers (costs cF) play Cournot on the residual demand.
 * Writes quantities to qL, qF; returns the price.
 *
 * Given the leaders' total X, followers' total is piecewise linear and convex in X (followers
 * drop out as X grows), so the price the leaders face, Pt(X), is piecewise linear and concave:
 * on the piece where k followers are active, Pt = (a + S_k)/(k+1) - b X/(k+1) with S_k the sum
 * of the k lowest follower costs. The leaders' equilibrium either solves the Cournot problem on
 * one piece or sits at a breakpoint (the leaders limit-price the k-th follower out); at a
 * breakpoint each leader's quantity lies between its best replies to the two slopes, and all
 * leaders take the same fraction of that interval.
 */
export function stackelbergCore(
  a: number,
  b: number,
  cL: ArrayLike<number>,
  cF: ArrayLike<number>,
  qL: Float64Array,
  qF: Float64Array,
): number {
  const n = cF.length;
  const order = sortedIndices(cF);
  const f = new Float64Array(n);
  for (let t = 0; t < n; t++) f[t] = cF[order[t]!]!;
  const S = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) S[k] = S[k - 1]! + f[k - 1]!;
  // Follower k (1-based, ascending cost) is active iff the residual intercept a - bX exceeds
  // A_k = k f_k - S_{k-1}, i.e. iff X < x_k = (a - A_k) / b; x_k falls with k.
  const breakpoint = (k: number) => (k === 0 ? Infinity : (a - (k * f[k - 1]! - S[k - 1]!)) / b);

  // Non-empty pieces in increasing X: k active followers on [lo, hi).
  const pieces: { k: number; lo: number; hi: number }[] = [];
  for (let k = n; k >= 0; k--) {
    const lo = Math.max(0, k === n ? 0 : breakpoint(k + 1));
    const hi = breakpoint(k);
    if (hi > lo) pieces.push({ k, lo: pieces.length === 0 ? 0 : lo, hi });
  }

  for (let p = 0; p < pieces.length; p++) {
    const { k, hi } = pieces[p]!;
    const alpha = (a + S[k]!) / (k + 1);
    const beta = b / (k + 1);
    cournotCore(alpha, beta, cL, qL);
    const X = sum(qL);
    if (X <= hi) return cournotCore(a - b * X, b, cF, qF);
    // The Cournot solution lies beyond this piece: test the breakpoint against the next slope.
    const next = pieces[p + 1]!;
    const betaR = b / (next.k + 1);
    const Ph = alpha - beta * hi;
    let sumLower = 0;
    let sumUpper = 0;
    for (let i = 0; i < cL.length; i++) {
      const margin = Math.max(0, Ph - cL[i]!);
      sumLower += margin / betaR;
      sumUpper += margin / beta;
    }
    if (sumLower <= hi) {
      const lambda = sumUpper > sumLower ? Math.min(1, Math.max(0, (hi - sumLower) / (sumUpper - sumLower))) : 0;
      for (let i = 0; i < cL.length; i++) {
        const margin = Math.max(0, Ph - cL[i]!);
        qL[i] = margin / betaR + lambda * (margin / beta - margin / betaR);
      }
      return cournotCore(a - b * sum(qL), b, cF, qF);
    }
  }
  // Unreachable: the last piece (no followers) extends to infinity.
  return cournotCore(a - b * sum(qL), b, cF, qF);
}

function sum(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

function sortedIndices(costs: ArrayLike<number>): number[] {
  const idx = Array.from({ length: costs.length }, (_, i) => i);
  return idx.sort((i, j) => costs[i]! - costs[j]! || i - j);
}

function checkLinear(a: number, b: number, costs: readonly number[], name: string): void {
  requirePositive("a", a);
  requirePositive("b", b);
  costs.forEach((c, i) => requireNonNegative(`${name}[${i}]`, c));
}

function linearFirms(costs: readonly number[], prefix: string, tier: number): EqFirm[] {
  return costs.map((c, i) => ({ id: `${prefix}-${i}`, tier, cost: { kind: "linear", c } }));
}

/**
 * Cournot-Nash with P = max(0, a - bQ) and constant marginal costs. Firms are "firm-i", tier 0.
 * Symmetric interior case: q = (a - c) / ((n + 1) b).
 */
export function linearCournot(a: number, b: number, costs: number[]): EquilibriumResult {
  checkLinear(a, b, costs, "costs");
  const q = new Float64Array(costs.length);
  cournotCore(a, b, costs, q);
  const demand: DemandSpec = { kind: "linear", a, b };
  return buildResult("cournot", demand, 0, linearFirms(costs, "firm", 0), q);
}

/**
 * Joint-profit maximum: only the lowest-cost firm(s) produce, the monopoly output
 * (a - c_min) / (2b), split equally among exact ties. Firms are "firm-i".
 */
export function linearCollusive(a: number, b: number, costs: number[]): EquilibriumResult {
  checkLinear(a, b, costs, "costs");
  const cMin = Math.min(...costs);
  const Q = Math.max(0, (a - cMin) / (2 * b));
  const ties = costs.filter((c) => c === cMin).length;
  const q = costs.map((c) => (c === cMin ? Q / ties : 0));
  return buildResult("collusive", { kind: "linear", a, b }, 0, linearFirms(costs, "firm", 0), q);
}

/**
 * Stackelberg with m leaders (Cournot among themselves, tier 0) and n followers (Cournot given
 * the leaders' total, tier 1). Firms are "leader-i" then "follower-j". Symmetric interior case,
 * one leader: q_L = (a - c)/(2b), each follower q_F = (a - c)/(2b(n + 1)).
 */
export function linearStackelberg(a: number, b: number, leaderCosts: number[], followerCosts: number[]): EquilibriumResult {
  checkLinear(a, b, leaderCosts, "leaderCosts");
  checkLinear(a, b, followerCosts, "followerCosts");
  const qL = new Float64Array(leaderCosts.length);
  const qF = new Float64Array(followerCosts.length);
  stackelbergCore(a, b, leaderCosts, followerCosts, qL, qF);
  const firms = [...linearFirms(leaderCosts, "leader", 0), ...linearFirms(followerCosts, "follower", 1)];
  const concept = leaderCosts.length > 0 && followerCosts.length > 0 ? "stackelberg" : "cournot";
  return buildResult(concept, { kind: "linear", a, b }, 0, firms, [...qL, ...qF]);
}
