/**
 * The ground truth: equilibria of the one-shot stage game for any demand and cost model.
 *
 * k-tier Stackelberg by backward induction in aggregates. Profits depend on quantities only
 * through totals, so tier j's problem given the earlier tiers' committed total Q is one equation
 * in its own total X: with R_{j+1}(Y) the total response of all later tiers to Y = Q + X, firm i's
 * first-order condition
 *
 *     P(T) + q_i P'(T) m - C_i'(q_i) = 0,   T = Y + R_{j+1}(Y),   m = 1 + R'_{j+1}(Y)
 *
 * gives its quantity in closed form (every cost model has mc = c + d q), clipped at zero; the
 * tier total solves sum_i q_i(X) = X by Brent's method. R' comes from implicit differentiation
 * carried in truncated Taylor series (jets) through the nested problems, so it is exact to
 * rounding at every depth, not a finite difference whose noise grows with each tier.
 *
 * Where a later firm's entry or exit puts a kink in R (a tier limit-pricing a later firm out),
 * the tier equation has a jump instead of a root; Brent converges to the jump, and the tier
 * total sits at the kink. Firms in that tier then have a range of equilibrium quantities; the
 * solver picks the same convex combination of each firm's one-sided best replies for all of them
 * (see `settle`), the selection the linear closed forms use too.
 *
 * First-order conditions are local. For every tier with two or more tiers after it,
 * `globalCheck` also scans for other candidate solutions and checks unilateral deviations, so
 * that a firm whose profit has two local maxima (a later tier limit-pricing a still later one
 * over some range) ends at the better one. With several firms in such a tier a pure equilibrium
 * need not exist; the solver then returns the candidate from which deviations gain least.
 * Cost: a few ms for two tiers, ~10-100 ms for three, up to a few seconds for four.
 */

import { marginalCostLine, validateCost } from "./costs.js";
import { inverseToQuantity, price, priceDerivative, priceTaylor, shiftDemand, validateDemand } from "./demand.js";
import { EconomicsConfigError, EquilibriumError, messages } from "./errors.js";
import { jcompose, jconst, jderiv, jdiv, jmul, jsub } from "./jet.js";
import { brent, goldenMax, type RootBracket } from "./roots.js";
import type { CostSpec, DemandSpec } from "./types.js";
import { buildResult } from "./welfare.js";

export { linearCollusive, linearCournot, linearStackelberg } from "./closed-form.js";

/** A firm in an equilibrium problem. */
export interface EqFirm {
  id: string;
  /** Move order: tier 0 moves first; equal tiers move simultaneously. Need not be contiguous. */
  tier: number;
  cost: CostSpec;
  /** Cumulative own output K for learning-by-doing costs (default 0). */
  cumulative?: number;
}

/** One firm's equilibrium outcome. */
export interface EqFirmResult {
  id: string;
  tier: number;
  quantity: number;
  profit: number;
  marginalCost: number;
}

/** An equilibrium with its welfare accounting; `firms` is in input order. */
export interface EquilibriumResult {
  concept: "cournot" | "collusive" | "stackelberg";
  firms: EqFirmResult[];
  totalQuantity: number;
  price: number;
  consumerSurplus: number;
  /** Sum of profits (fixed costs included). */
  producerSurplus: number;
  totalWelfare: number;
}

/** Options of the numeric solvers. */
export interface SolveOptions {
  /** Demand shock added to the demand level (default 0). */
  shift?: number;
  /** Relative tolerance of each 1-D root (default 1e-14; machine precision is the floor). */
  tol?: number;
}

const DEFAULT_TOL = 1e-14;
/** |g| below this fraction of the tier total means a root, above it a jump (a kink in R). */
const JUMP_THRESHOLD = 1e-9;
const MAX_DOUBLINGS = 2000;
/** Past this a tier's output is taken as unbounded (before prices and slopes underflow). */
const MAX_QUANTITY = 1e200;
/** A tier total this far below the game's scale, reached from an infinite g at 0, means no equilibrium. */
const COLLAPSE = 1e-60;
/** Grid points of tier totals on which `globalCheck` tries deviations. */
const GLOBAL_GRID = 24;
/** Rounds and points of the local refinement around a paying deviation. */
const REFINE_ROUNDS = 3;
const REFINE_POINTS = 8;
/** Levels and points of the subdivision of grid cells across which later tiers change regime. */
const REGIME_DEPTH = 1;
const REGIME_POINTS = 10;
/** Output below this fraction of the game's scale counts as none in regime signatures. */
const ACTIVE_THRESHOLD = 1e-9;
/** Entries per level in the memo of subgame solutions before it is cleared. */
const MEMO_LIMIT = 50_000;
/** A deviation must gain this fraction of profit to count (rounding is far smaller). */
const GAIN_TOLERANCE = 1e-10;

/** A firm as the solver sees it: mc(q) = c + d q. */
interface LevelFirm {
  index: number;
  c: number;
  d: number;
}

/** A prepared game: the demand already shifted, firms grouped into move levels 0..L-1. */
export interface PreparedGame {
  demand: DemandSpec;
  tol: number;
  levels: LevelFirm[][];
  /** Distinct tiers, ascending; levels[j] holds the firms of tier tiers[j]. */
  tiers: number[];
  /** A quantity scale for bracketing roots. */
  scale: number;
  /**
   * Solutions of level j by committed total, memoized: the nested searches ask for the same
   * subgame repeatedly (a root, then its jet, then the later tiers' total there). Pure values,
   * so results do not depend on the order of questions.
   */
  memo: Map<number, LevelSolution>[];
}

/** One tier's solution given the earlier tiers' committed total. */
interface LevelSolution {
  /** The tier's total. */
  X: number;
  /** Quantities of levels[j]'s firms, in that order. */
  q: Float64Array;
  /** R_{j+1}(Q + X): the later tiers' total response. */
  later: number;
  /** True when the tier sits at a kink of R_{j+1} (the jump case). */
  kink: boolean;
  /**
   * Which firms of this and later tiers produce, and which tiers sit at kinks, hashed: where it
   * changes between two tier totals of an earlier tier, a regime boundary lies between them.
   */
  sig: number;
}

/** Validates a firm list, naming fields as `firms[i].cost.c`. */
export function validateFirms(firms: readonly EqFirm[]): void {
  if (!Array.isArray(firms) || firms.length === 0) throw new EconomicsConfigError("firms must be a non-empty array");
  firms.forEach((f, i) => {
    if (typeof f !== "object" || f === null) throw new EconomicsConfigError(messages.notObject(`firms[${i}]`));
    if (!Number.isSafeInteger(f.tier) || f.tier < 0) {
      throw new EconomicsConfigError(messages.notNonNegativeInteger(`firms[${i}].tier`, f.tier));
    }
    validateCost(f.cost, `firms[${i}].cost`);
    if (f.cumulative !== undefined && !(Number.isFinite(f.cumulative) && f.cumulative >= 0)) {
      throw new EconomicsConfigError(messages.negative(`firms[${i}].cumulative`, f.cumulative));
    }
  });
}

/**
 * Groups firms by tier and precomputes what the solver needs. Only firms with
 * tier >= fromTier take part (a subgame). Validates unless `validated` is true.
 */
export function prepareGame(
  demand: DemandSpec,
  firms: readonly EqFirm[],
  opts: SolveOptions = {},
  fromTier = 0,
  validated = false,
): PreparedGame {
  if (!validated) {
    validateDemand(demand);
    validateFirms(firms);
    if (opts.shift !== undefined && !Number.isFinite(opts.shift))
      throw new EconomicsConfigError(messages.notFinite("shift", opts.shift));
    if (opts.tol !== undefined && !(opts.tol > 0 && opts.tol < 1))
      throw new EconomicsConfigError(messages.outOfRange("tol", opts.tol, "(0, 1)"));
  }
  const shifted = shiftDemand(demand, opts.shift ?? 0);
  const tiers = [...new Set(firms.map((f) => f.tier).filter((t) => t >= fromTier))].sort((a, b) => a - b);
  const levels: LevelFirm[][] = tiers.map(() => []);
  let cMin = Infinity;
  firms.forEach((f, index) => {
    const j = tiers.indexOf(f.tier);
    if (j < 0) return;
    const { c, d } = marginalCostLine(f.cost, f.cumulative ?? 0);
    levels[j]!.push({ index, c, d });
    cMin = Math.min(cMin, c);
  });
  const memo = levels.map(() => new Map<number, LevelSolution>());
  return { demand: shifted, tol: opts.tol ?? DEFAULT_TOL, levels, tiers, scale: quantityScale(shifted, cMin), memo };
}

/** Roughly the competitive output: where price falls to the lowest marginal cost. */
function quantityScale(demand: DemandSpec, cMin: number): number {
  let s = cMin > 0 ? inverseToQuantity(demand, cMin) : Infinity;
  if (!(Number.isFinite(s) && s > 0)) {
    if (demand.kind === "linear") s = demand.a / demand.b;
    else if (demand.kind === "exponential") s = 1 / demand.b;
    else s = 1;
  }
  return Number.isFinite(s) && s > 0 ? s : 1;
}

/**
 * Firm quantity from its first-order condition given the price P, its slope dP and the
 * reaction factor m = 1 + R': q = (P - c) / (d - dP m), and 0 where that would be negative.
 */
function share(P: number, dP: number, m: number, c: number, d: number): number {
  const margin = P - c;
  if (!(margin > 0)) return 0;
  if (P === Infinity) return Infinity;
  const slope = -dP * m;
  const den = d + slope;
  // A flat (or rising) effective demand: the firm wants to expand without bound at this total.
  if (!(den > 0)) return Infinity;
  // With later tiers over-reacting (m < 0) the stationary point can lose money against q = 0;
  // variable profit there is q^2 (d/2 + slope).
  if (0.5 * d + slope < 0) return 0;
  return margin / den;
}

const ZERO_JET_1 = new Float64Array(2);

/** g(X) = sum of tier j's first-order quantities at tier total X, minus X; fills `shares` if given. */
function levelExcess(game: PreparedGame, j: number, Q: number, X: number, shares: Float64Array | null): number {
  const next = j + 1 < game.levels.length ? responseJet(game, j + 1, Q + X, 1) : ZERO_JET_1;
  return excessFrom(game, j, Q, X, next, shares);
}

/** g(X) given the jet [R, R'] of the later tiers' response at Q + X. */
function excessFrom(
  game: PreparedGame,
  j: number,
  Q: number,
  X: number,
  next: Float64Array,
  shares: Float64Array | null,
): number {
  const T = Q + X + next[0]!;
  const m = 1 + next[1]!;
  const P = price(game.demand, T);
  const dP = priceDerivative(game.demand, T);
  const firms = game.levels[j]!;
  let sum = 0;
  for (let k = 0; k < firms.length; k++) {
    const f = firms[k]!;
    const s = share(P, dP, m, f.c, f.d);
    if (shares !== null) shares[k] = s;
    sum += s;
  }
  return sum - X;
}

/** Solves tier j's Cournot-Nash given the earlier tiers' total Q, anticipating later tiers (memoized). */
function solveLevel(game: PreparedGame, j: number, Q: number): LevelSolution {
  const memo = game.memo[j]!;
  const known = memo.get(Q);
  if (known !== undefined) return known;
  const sol = solveLevelUncached(game, j, Q);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(Q, sol);
  return sol;
}

function solveLevelUncached(game: PreparedGame, j: number, Q: number): LevelSolution {
  const g = (X: number) => levelExcess(game, j, Q, X, null);
  const g0 = g(0);
  if (!(g0 > 0)) return settleAtZero(game, j, Q);

  let lo = 0;
  let flo = g0;
  let hi = game.scale;
  let fhi = g(hi);
  for (let k = 0; fhi > 0; k++) {
    if (k > MAX_DOUBLINGS || hi > MAX_QUANTITY) {
      throw new EquilibriumError(
        `no equilibrium: tier ${game.tiers[j]}'s output grows without bound (e.g. constant-elasticity demand with zero marginal cost)`,
      );
    }
    lo = hi;
    flo = fhi;
    hi *= 2;
    fhi = g(hi);
  }
  // An infinite g (an infinite price, or later tiers absorbing extra output one for one) is
  // fine for Brent, which bisects there.
  const root = fhi === 0 ? { x: hi, fx: 0, other: hi, fother: 0 } : brent(g, lo, hi, flo, fhi, game.tol);
  if (g0 === Infinity && root.x <= COLLAPSE * game.scale) {
    throw new EquilibriumError(
      `no equilibrium: tier ${game.tiers[j]}'s output collapses toward zero (with constant-elasticity demand, ` +
        "marginal revenue stays negative when elasticity times the number of firms is at most 1)",
    );
  }
  const sol = settle(game, j, Q, root);
  // With at most one tier after this one, its response has no ranges where it absorbs extra
  // output one for one, and the first-order solution is the equilibrium (as the deviation
  // property tests confirm); the global check would multiply the cost of every nested solve.
  return j + 2 < game.levels.length ? globalCheck(game, j, Q, sol, hi) : sol;
}

/** The tier's solution when every firm in it produces nothing. */
function settleAtZero(game: PreparedGame, j: number, Q: number): LevelSolution {
  return finish(game, j, Q, new Float64Array(game.levels[j]!.length), false);
}

/** Completes a tier solution from its quantities: total, later tiers' response, signature. */
function finish(game: PreparedGame, j: number, Q: number, q: Float64Array, kink: boolean): LevelSolution {
  let X = 0;
  let active = 0;
  for (let k = 0; k < q.length; k++) {
    X += q[k]!;
    // Quantities within rounding of zero (a firm held exactly at its exit point) count as out.
    if (q[k]! > ACTIVE_THRESHOLD * game.scale) active++;
  }
  let later = 0;
  let laterSig = 0;
  if (j + 1 < game.levels.length) {
    const sig = { value: 0 };
    later = responseJet(game, j + 1, Q + X, 0, sig)[0]!;
    laterSig = sig.value;
  }
  return { X, q, later, kink, sig: (laterSig * 4099 + active * 2 + (kink ? 1 : 0)) % 1e15 };
}

/** Turns the end of a root search on g into the tier's quantities: a root, or a jump (a kink of R_{j+1}). */
function settle(game: PreparedGame, j: number, Q: number, root: RootBracket): LevelSolution {
  const n = game.levels[j]!.length;
  const shares = new Float64Array(n);
  const gx = levelExcess(game, j, Q, root.x, shares);
  // Rounding in g is relative to the game's quantities (prices are differences of levels), not to
  // this tier's total, which may be tiny; measuring against the tier alone mistakes noise for a jump.
  const scale = Math.max(root.x, gx + root.x, game.scale);
  if (Math.abs(gx) <= JUMP_THRESHOLD * scale || root.other === root.x) return finish(game, j, Q, shares, false);

  // A jump: left of it, later tiers still produce (gentler slope, larger replies = upper);
  // right of it they have dropped out (lower). Each firm's equilibrium quantity may be anything
  // in [lower, upper]; pick the same fraction of every firm's interval so they sum to the kink.
  const left = Math.min(root.x, root.other);
  const right = Math.max(root.x, root.other);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  levelExcess(game, j, Q, left, upper);
  levelExcess(game, j, Q, right, lower);
  const X0 = 0.5 * (left + right);
  let sumLower = 0;
  let sumUpper = 0;
  let unbounded = 0;
  for (let k = 0; k < n; k++) {
    sumLower += lower[k]!;
    if (upper[k] === Infinity) unbounded++;
    else sumUpper += upper[k]!;
  }
  const q = new Float64Array(n);
  if (unbounded > 0) {
    // Firms that would expand without bound on the left share the excess equally.
    const extra = Math.max(0, X0 - sumLower) / unbounded;
    for (let k = 0; k < n; k++) q[k] = lower[k]! + (upper[k] === Infinity ? extra : 0);
  } else {
    const lambda = sumUpper > sumLower ? Math.min(1, Math.max(0, (X0 - sumLower) / (sumUpper - sumLower))) : 0;
    for (let k = 0; k < n; k++) q[k] = lower[k]! + lambda * (upper[k]! - lower[k]!);
  }
  return finish(game, j, Q, q, true);
}

/**
 * Guards against a merely local solution. With later tiers responding, a firm's profit need
 * not be concave in its own output: typically, beyond some output a later tier switches to
 * limit-pricing a still later firm, absorbing extra output one for one, and a second local
 * maximum appears. The first-order conditions find only one of them. Any pure equilibrium of the
 * tier is a sign change (+ to -) of g, so g is scanned on a grid of tier totals and every sign
 * change becomes a candidate. A candidate is an equilibrium when no firm gains by moving the
 * tier total, alone, to a grid point or to another candidate's total. The candidate of the
 * first-order search is kept if it passes, otherwise the first other one that does; if none
 * does, a deviation that pays points to where a better one may hide inside a grid cell, and the
 * grid is refined there a few times. Failing all that (no pure equilibrium), the candidate with
 * the smallest relative gain from deviating is returned.
 */
function globalCheck(game: PreparedGame, j: number, Q: number, start: LevelSolution, hi: number): LevelSolution {
  const H = 1.25 * Math.max(hi, start.X);
  const g = (x: number) => levelExcess(game, j, Q, x, null);

  const targets: Target[] = [];
  const candidates: LevelSolution[] = [start];
  // Scans g at `count` + 1 points on [from, to]; every + to - sign change not already known
  // becomes a candidate, and every point a deviation target.
  // With two or more later tiers, a later tier can limit-price a still later one over a narrow
  // range of totals, hiding a better maximum inside one grid cell; such ranges begin and end
  // where the later tiers' regime changes, so cells whose ends differ in regime are subdivided.
  const subdivide = REGIME_DEPTH;
  const scanInterval = (from: number, to: number, count: number, depth: number) => {
    const points: { x: number; g: number; sig: number }[] = [];
    for (let m = 0; m <= count; m++) {
      const x = from + ((to - from) * m) / count;
      const info = levelInfo(game, j, Q, x);
      targets.push({ X: x, later: info.later });
      const left = points[m - 1];
      if (left !== undefined && left.g > 0 && info.g <= 0 && !candidates.some((c) => c.X >= left.x && c.X <= x)) {
        const root = info.g === 0 ? { x, fx: 0, other: x, fother: 0 } : brent(g, left.x, x, left.g, info.g, game.tol);
        const c = settle(game, j, Q, root);
        candidates.push(c);
        targets.push({ X: c.X, later: c.later });
      }
      points.push({ x, g: info.g, sig: info.sig });
    }
    if (depth === 0) return;
    // A regime range may start or end next to a change seen on the grid, so the cells on both
    // sides of every change are subdivided as well.
    const flagged = new Set<number>();
    for (let m = 1; m <= count; m++) {
      if (points[m - 1]!.sig === points[m]!.sig) continue;
      for (const cell of [m - 1, m, m + 1]) if (cell >= 1 && cell <= count) flagged.add(cell);
    }
    for (const cell of flagged) scanInterval(points[cell - 1]!.x, points[cell]!.x, REGIME_POINTS, depth - 1);
  };

  scanInterval(0, H, GLOBAL_GRID, subdivide);
  let step = H / GLOBAL_GRID;
  let best = start;
  let bestGain = Infinity;
  let bestTarget: Target | undefined;
  let checked = 0;
  for (let round = 0; ; round++) {
    for (; checked < candidates.length; checked++) {
      const c = candidates[checked]!;
      const worst = worstDeviation(game, j, c, Q, targets);
      if (worst.gain <= GAIN_TOLERANCE) return c;
      if (worst.gain < bestGain) {
        bestGain = worst.gain;
        best = c;
        bestTarget = worst.target;
      }
    }
    if (round >= REFINE_ROUNDS || bestTarget === undefined) return best;
    // A deviation pays, so a better local maximum lies near its target, hidden inside a grid
    // cell (a narrow region where a later tier absorbs extra output): look closer there, then
    // re-check every candidate against the new targets.
    const center = bestTarget.X;
    scanInterval(Math.max(0, center - step), center + step, 2 * REFINE_POINTS, 0);
    step /= REFINE_POINTS;
    checked = 0;
    bestGain = Infinity;
    bestTarget = undefined;
  }
}

/** A deviation target: a tier total X with the later tiers' response there. */
interface Target {
  X: number;
  later: number;
}

/** The largest relative gain any firm of the tier makes by moving the tier total alone to a target, and where. */
function worstDeviation(
  game: PreparedGame,
  j: number,
  sol: LevelSolution,
  Q: number,
  targets: readonly Target[],
): { gain: number; target?: Target } {
  const firms = game.levels[j]!;
  const P = price(game.demand, Q + sol.X + sol.later);
  let worst = 0;
  let where: Target | undefined;
  for (let k = 0; k < firms.length; k++) {
    const f = firms[k]!;
    const own = sol.q[k]!;
    const variable = (q: number) => q * (f.c + 0.5 * f.d * q);
    const base = own > 0 ? own * P - variable(own) : 0;
    const others = sol.X - own;
    const scale = Math.max(Math.abs(base), Number.MIN_VALUE);
    for (const t of targets) {
      const q = t.X - others;
      if (q <= 0) continue;
      const gain = (q * price(game.demand, Q + t.X + t.later) - variable(q) - base) / scale;
      if (gain > worst) {
        worst = gain;
        where = t;
      }
    }
  }
  return where === undefined ? { gain: worst } : { gain: worst, target: where };
}

/** g at tier total X, the later tiers' response R_{j+1}(Q + X) and its signature. */
function levelInfo(game: PreparedGame, j: number, Q: number, X: number): { g: number; later: number; sig: number } {
  const sig = { value: 0 };
  const next = j + 1 < game.levels.length ? responseJet(game, j + 1, Q + X, 1, sig) : ZERO_JET_1;
  return { g: excessFrom(game, j, Q, X, next, null), later: next[0]!, sig: sig.value };
}

/**
 * Taylor coefficients (order n) at Q of R_j, the total equilibrium output of tiers >= j given
 * the earlier tiers' committed total Q.
 */
function responseJet(game: PreparedGame, j: number, Q: number, n: number, sig?: { value: number }): Float64Array {
  if (j >= game.levels.length) return new Float64Array(n + 1);
  const sol = solveLevel(game, j, Q);
  if (sig !== undefined) sig.value = sol.sig;
  const out = new Float64Array(n + 1);
  out[0] = sol.X + sol.later;
  if (n === 0) return out;
  if (sol.kink) {
    // The tier holds Q + X at the kink of R_{j+1}, which is fixed in Y: it absorbs any change
    // in Q one for one, so R_j(Q) = const - Q nearby.
    out[1] = -1;
    return out;
  }

  const Y0 = Q + sol.X;
  const next = responseJet(game, j + 1, Y0, n + 1);
  const nextDeriv = jderiv(next);
  const pOrder = n + 1;
  const active = game.levels[j]!.filter((_, k) => sol.q[k]! > 0);

  // G(X, Q) = sum_i q_i(X, Q) - X in jet arithmetic, both arguments jets of the same order.
  const G = (X: Float64Array, Qj: Float64Array): Float64Array => {
    const order = X.length - 1;
    const delta = jsub(new Float64Array(Qj.map((v, k) => v + X[k]!)), jconst(Y0, order));
    delta[0] = 0;
    const R = jcompose(next, delta, order);
    const Rp = jcompose(nextDeriv, delta, order);
    const T0 = Y0 + next[0]!;
    const dT = new Float64Array(order + 1);
    for (let k = 1; k <= order; k++) dT[k] = delta[k]! + R[k]!;
    const pc = priceTaylor(game.demand, T0, pOrder);
    const P = jcompose(pc, dT, order);
    const dP = jcompose(jderiv(pc), dT, order);
    const m = Rp;
    m[0] = m[0]! + 1;
    const slope = jmul(dP, m).map((v) => -v);
    const g = new Float64Array(order + 1);
    for (let k = 0; k <= order; k++) g[k] = -X[k]!;
    for (const f of active) {
      const num = new Float64Array(P);
      num[0] = num[0]! - f.c;
      const den = new Float64Array(slope);
      den[0] = den[0]! + f.d;
      const qi = jdiv(num, den);
      for (let k = 0; k <= order; k++) g[k] = g[k]! + qi[k]!;
    }
    return g;
  };

  // dG/dX at the root, exact: the Newton step below then gains one Taylor order per pass.
  const gX = G(Float64Array.of(sol.X, 1), Float64Array.of(Q, 0))[1]!;
  const X = jconst(sol.X, n);
  const Qj = jconst(Q, n);
  Qj[1] = 1;
  if (gX !== 0 && Number.isFinite(gX)) {
    for (let it = 0; it < n; it++) {
      const gj = G(X, Qj);
      for (let k = 1; k <= n; k++) X[k] = X[k]! - gj[k]! / gX;
    }
  }
  const delta = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) delta[k] = Qj[k]! + X[k]!;
  const R = jcompose(next, delta, n);
  out[0] = sol.X + next[0]!;
  for (let k = 1; k <= n; k++) out[k] = X[k]! + R[k]!;
  return out;
}

/** Solves the prepared game from level 0 given `committed`, writing quantities by input index. */
function solvePrepared(game: PreparedGame, committed: number, out: Float64Array): number {
  let Q = committed;
  for (let j = 0; j < game.levels.length; j++) {
    const sol = solveLevel(game, j, Q);
    const firms = game.levels[j]!;
    for (let k = 0; k < firms.length; k++) out[firms[k]!.index] = sol.q[k]!;
    Q += sol.X;
  }
  return Q;
}

/**
 * The subgame-perfect equilibrium with tier 0 moving first, each later tier seeing the earlier
 * tiers' total, and firms within a tier playing Cournot-Nash. Any demand and cost model.
 * concept is "cournot" when all firms share one tier, else "stackelberg".
 *
 * @throws EquilibriumError when no equilibrium exists (e.g. constant-elasticity demand with
 *   elasticity times the number of firms at most 1).
 */
export function solveEquilibrium(demand: DemandSpec, firms: readonly EqFirm[], opts: SolveOptions = {}): EquilibriumResult {
  const game = prepareGame(demand, firms, opts);
  const q = new Float64Array(firms.length);
  solvePrepared(game, 0, q);
  return buildResult(game.levels.length > 1 ? "stackelberg" : "cournot", demand, opts.shift ?? 0, firms, q);
}

/**
 * Equilibrium quantities of the tiers >= fromTier given that the earlier tiers committed a
 * total `committed` (what a best-response oracle firm plays). Entries of earlier tiers are NaN.
 */
export function solveSubgame(
  demand: DemandSpec,
  firms: readonly EqFirm[],
  committed: number,
  fromTier: number,
  opts: SolveOptions = {},
): Float64Array {
  if (!(Number.isFinite(committed) && committed >= 0)) throw new EconomicsConfigError(messages.negative("committed", committed));
  const game = prepareGame(demand, firms, opts, fromTier);
  const out = new Float64Array(firms.length).fill(Number.NaN);
  solvePrepared(game, committed, out);
  return out;
}

/** solveSubgame on an already prepared (validated, shifted) game; internal fast path for batches. */
export function solvePreparedSubgame(game: PreparedGame, committed: number, out: Float64Array): void {
  solvePrepared(game, committed, out);
}

/**
 * The joint-profit maximum (a cartel of all firms, tiers ignored): total output where marginal
 * revenue equals the cheapest way to produce it (marginal costs equalized across firms; firms
 * with equal constant marginal cost split equally).
 *
 * @throws EquilibriumError for constant-elasticity demand with elasticity <= 1 (revenue keeps
 *   rising as output falls, so there is no maximum).
 */
export function solveCollusive(demand: DemandSpec, firms: readonly EqFirm[], opts: SolveOptions = {}): EquilibriumResult {
  const game = prepareGame(demand, firms, opts);
  const d = game.demand;
  if (d.kind === "constant-elasticity" && d.elasticity <= 1) {
    throw new EquilibriumError("no collusive optimum: constant-elasticity demand with elasticity <= 1 has no revenue maximum");
  }
  const lines = firms.map((f) => marginalCostLine(f.cost, f.cumulative ?? 0));
  const constant = lines.filter((l) => l.d === 0).map((l) => l.c);
  const cConst = constant.length > 0 ? Math.min(...constant) : Infinity;
  // Output of the increasing-marginal-cost firms at shadow price lambda.
  const supply = (lambda: number) => {
    let s = 0;
    for (const l of lines) if (l.d > 0 && lambda > l.c) s += (lambda - l.c) / l.d;
    return s;
  };
  // The cheapest marginal cost of producing Q in total.
  const aggregateMc = (Q: number): number => {
    if (Q <= supply(cConst)) {
      let lo = Math.min(...lines.map((l) => l.c));
      let hi = Math.min(cConst, lo + 1);
      while (supply(hi) < Q) hi = lo + 2 * (hi - lo);
      for (let k = 0; k < 200 && hi - lo > 2 * Number.EPSILON * hi; k++) {
        const mid = 0.5 * (lo + hi);
        if (supply(mid) < Q) lo = mid;
        else hi = mid;
      }
      return 0.5 * (lo + hi);
    }
    return cConst;
  };
  const mr = (Q: number): number => {
    const P = price(d, Q);
    return P === Infinity ? Infinity : P + Q * priceDerivative(d, Q);
  };
  const h = (Q: number) => mr(Q) - aggregateMc(Q);

  let Q = 0;
  const h0 = h(0);
  if (h0 > 0) {
    let lo = 0;
    let flo = h0;
    let hi = game.scale;
    let fhi = h(hi);
    for (let k = 0; fhi > 0; k++) {
      if (k > MAX_DOUBLINGS || hi > MAX_QUANTITY)
        throw new EquilibriumError("no collusive optimum: joint output grows without bound");
      lo = hi;
      flo = fhi;
      hi *= 2;
      fhi = h(hi);
    }
    Q = fhi === 0 ? hi : brent(h, lo, hi, flo, fhi, game.tol).x;
  }

  const lambda = aggregateMc(Q);
  const q = new Float64Array(firms.length);
  let rest = Q;
  lines.forEach((l, i) => {
    if (l.d > 0 && lambda > l.c) {
      q[i] = Math.min(rest, (lambda - l.c) / l.d);
      rest -= q[i]!;
    }
  });
  if (rest > 0 && cConst < Infinity) {
    const ties = lines.flatMap((l, i) => (l.d === 0 && l.c === cConst ? [i] : []));
    for (const i of ties) q[i] = rest / ties.length;
  }
  return buildResult("collusive", demand, opts.shift ?? 0, firms, q);
}

/** Options of `bestReply`. */
export interface BestReplyOptions {
  shift?: number;
  /** The firm's cumulative output K (learning-by-doing). */
  cumulative?: number;
  /**
   * Total output of later movers as a function of everything committed before them (including
   * this firm). With it the reply is found by golden-section search (about 1e-8 relative);
   * without it, by the first-order condition to machine precision.
   */
  laterResponse?: (committedTotal: number) => number;
}

/** The profit-maximizing quantity of one firm given the total output of all other current and earlier movers. */
export function bestReply(demand: DemandSpec, cost: CostSpec, othersTotal: number, opts: BestReplyOptions = {}): number {
  validateDemand(demand);
  validateCost(cost);
  const d = shiftDemand(demand, opts.shift ?? 0);
  const { c, d: slope } = marginalCostLine(cost, opts.cumulative ?? 0);
  const scale = Math.max(quantityScale(d, c), othersTotal);
  const later = opts.laterResponse;
  if (later !== undefined) {
    const profit = (q: number) => {
      const T = othersTotal + q + later(othersTotal + q);
      return q * price(d, T) - (c + 0.5 * slope * q) * q;
    };
    const best = goldenMax(profit, 0, 2 * scale);
    return profit(best) > profit(0) ? best : 0;
  }
  const foc = (q: number) => {
    const T = othersTotal + q;
    const P = price(d, T);
    return P === Infinity ? Infinity : P + q * priceDerivative(d, T) - c - slope * q;
  };
  const f0 = foc(0);
  if (!(f0 > 0)) return 0;
  let lo = 0;
  let flo = f0;
  let hi = scale;
  let fhi = foc(hi);
  for (let k = 0; fhi > 0; k++) {
    if (k > MAX_DOUBLINGS || hi > MAX_QUANTITY) throw new EquilibriumError("no best reply: output grows without bound");
    lo = hi;
    flo = fhi;
    hi *= 2;
    fhi = foc(hi);
  }
  return fhi === 0 ? hi : brent(foc, lo, hi, flo, fhi, DEFAULT_TOL).x;
}
