/**
 * Dynamic references: what every firm should do at each step of a T-round episode when the one-shot
 * stage game is the wrong yardstick (learning-by-doing, adjustment costs, persistent demand shocks,
 * firms that maximise a discounted valuation).
 *
 * The concept is an open-loop equilibrium of the episode with a Stackelberg stage game inside every
 * round:
 * - a `valuation` firm commits to the quantity path that maximises its discounted episode value
 *   sum_t gamma^t pi_t given the other firms' paths, so today's output counts for tomorrow's
 *   learning-by-doing cost and adjustment cost;
 * - a `profit` (myopic) firm best-responds in every round at its current state (its current
 *   learning-by-doing marginal cost, its last quantity), ignoring the future;
 * - within a round, tiers move in order: an earlier tier anticipates the later tiers' responses to
 *   its current quantity along their round-t first-order conditions, with their continuation (future
 *   quantities and cost states) held at the equilibrium path.
 * Open-loop means a firm takes its rivals' future outputs as given: it does not count on moving them
 * by changing its own future costs (that strategic effect is what a Markov-perfect equilibrium adds).
 * The firms' observations (step, own marginal cost, last price and total quantity; not the rivals'
 * cost states) are closer to that than to a Markov strategy in the full state, and the open-loop
 * path is well defined and exact for any demand, cost model and number of tiers.
 *
 * How it is solved: every firm's first-order condition for q_{f,t} is that of a stage game whose
 * marginal cost line c + d q carries the dynamics as a wedge,
 *
 *     c_eff = mc_f(K_{f,t}) - W_{f,t} - kappa q_{f,t-1} - gamma kappa q_{f,t+1},
 *     d_eff = d_f + kappa [t > 0] + gamma kappa [t < T-1],
 *     W_{f,t} = sum_{s>t} gamma^{s-t} (-mc_f'(K_{f,s})) q_{f,s}      (the value of learning),
 *
 * (the gamma terms for valuation firms only), so the exact stage solver of equilibrium.ts solves
 * every round given the path, and the path is the fixed point q = S(q) of "solve every round given
 * the path", met to 1e-11 of the quantity scale: Newton's method (stage sensitivities from the
 * exact stage solver, the wedges' derivatives in closed form, a line search), Anderson
 * acceleration where a firm entering or leaving along the path makes Newton crawl, and
 * continuation in the discount factors from the myopic path where the first attempt meets a stage
 * game without equilibrium. At the fixed point every firm's first-order condition in every round
 * holds to the stage solver's precision.
 *
 * Demand shocks: with learning-by-doing or adjustment costs the shock sits at its expected path
 * (zero from the episode start: certainty equivalence, exact for the linear-quadratic case while no
 * quantity is clipped). Without them nothing a firm does affects later rounds, so forward-looking
 * and myopic firms play the stage equilibrium at each step's shock, and the reference is its
 * expectation over the shock's distribution at that step (Gauss-Hermite quadrature).
 */

import { marginalCost, marginalCostLine, totalCost, validateCost } from "./costs.js";
import { price, validateDemand } from "./demand.js";
import { EconomicsConfigError, EquilibriumError, messages, requireNonNegative, requirePositive } from "./errors.js";
import { type EqFirm, prepareGame, solveEquilibrium, solvePreparedSubgame } from "./equilibrium.js";
import { gaussHermite } from "./quadrature.js";
import type { CostSpec, DemandSpec, DynamicsSpec } from "./types.js";

/** A firm of an episode problem. */
export interface EpisodeFirm {
  id: string;
  /** Move order within a round (tier 0 first). */
  tier: number;
  cost: CostSpec;
  /** `profit`: this round's profit (myopic); `valuation`: the episode's discounted profits. */
  objective: "profit" | "valuation";
  /** gamma in [0, 1] of a valuation firm (ignored for profit firms). */
  discount: number;
}

/** A market played for episodes of `rounds` rounds from a fresh state (zero shock, cumulative output, last quantities). */
export interface EpisodeProblem {
  demand: DemandSpec;
  firms: readonly EpisodeFirm[];
  dynamics: DynamicsSpec;
  /** T: rounds per episode. */
  rounds: number;
  /** Upper end of the quantity range; a reference path that leaves it is refused (EquilibriumError). */
  quantityMax?: number;
}

/**
 * Which yardstick fits: the one-shot stage equilibrium (nothing a firm does affects later rounds
 * and shocks are not persistent), the stage equilibrium averaged over each step's shock
 * distribution, or the open-loop equilibrium path of the episode.
 */
export type ReferenceKind = "stage-equilibrium" | "expected-stage-path" | "open-loop-path";

/** One firm's reference path; arrays have one entry per step of the episode. */
export interface ReferenceFirm {
  id: string;
  tier: number;
  objective: "profit" | "valuation";
  quantity: number[];
  profit: number[];
  marginalCost: number[];
  /** sum_t gamma^t profit_t with the firm's discount for a valuation firm, the plain sum for a profit firm. */
  value: number;
}

/** A per-step reference for an episode. */
export interface ReferencePath {
  kind: ReferenceKind;
  /** One line saying what the reference is. */
  description: string;
  rounds: number;
  price: number[];
  totalQuantity: number[];
  /** In input order. */
  firms: ReferenceFirm[];
  /** max |q - S(q)| at the solution, S solving every round given the path (0 where solved directly). */
  residual: number;
  /** Fixed-point iterations (0 where solved directly). */
  iterations: number;
}

/** Options of the open-loop solver. */
export interface DynamicSolveOptions {
  /** Absolute tolerance on the fixed-point residual, as a fraction of the largest quantity (default 1e-11). */
  tol?: number;
  /** Iteration limit (default 500). */
  maxIterations?: number;
  /** Past iterates the Anderson fallback combines (default min(10, F T)). */
  memory?: number;
  /** Gauss-Hermite nodes of the expected stage path (default 32). */
  nodes?: number;
}

const DEFAULT_TOL = 1e-11;
const DEFAULT_MAX_ITERATIONS = 500;
const DEFAULT_NODES = 32;
/** A candidate iterate whose residual grows this much over the current one restarts the acceleration. */
const BLOW_UP = 1e3;

/** Throws EconomicsConfigError naming the first bad field, e.g. "firms[1].discount must be in [0, 1] (got 2)". */
export function validateEpisodeProblem(p: EpisodeProblem): void {
  if (typeof p !== "object" || p === null) throw new EconomicsConfigError(messages.notObject("problem"));
  validateDemand(p.demand);
  if (!Array.isArray(p.firms) || p.firms.length === 0) throw new EconomicsConfigError("firms must be a non-empty array");
  p.firms.forEach((f, i) => {
    if (typeof f !== "object" || f === null) throw new EconomicsConfigError(messages.notObject(`firms[${i}]`));
    if (!Number.isSafeInteger(f.tier) || f.tier < 0)
      throw new EconomicsConfigError(messages.notNonNegativeInteger(`firms[${i}].tier`, f.tier));
    validateCost(f.cost, `firms[${i}].cost`);
    if (f.objective !== "profit" && f.objective !== "valuation") {
      throw new EconomicsConfigError(
        `firms[${i}].objective must be "profit" or "valuation" (got ${JSON.stringify(f.objective)})`,
      );
    }
    if (f.objective === "valuation" && !(Number.isFinite(f.discount) && f.discount >= 0 && f.discount <= 1)) {
      throw new EconomicsConfigError(messages.outOfRange(`firms[${i}].discount`, f.discount, "[0, 1]"));
    }
  });
  if (!Number.isSafeInteger(p.rounds) || p.rounds < 1)
    throw new EconomicsConfigError(messages.notPositiveInteger("rounds", p.rounds));
  const dyn = p.dynamics;
  if (typeof dyn !== "object" || dyn === null) throw new EconomicsConfigError(messages.notObject("dynamics"));
  if (dyn.adjustmentCost !== undefined) requireNonNegative("dynamics.adjustmentCost", dyn.adjustmentCost);
  if (dyn.shock !== undefined) {
    const rho = dyn.shock.rho;
    if (!(Number.isFinite(rho) && rho >= -1 && rho <= 1))
      throw new EconomicsConfigError(messages.outOfRange("dynamics.shock.rho", rho, "[-1, 1]"));
    requireNonNegative("dynamics.shock.sigma", dyn.shock.sigma);
  }
  if (p.quantityMax !== undefined) requirePositive("quantityMax", p.quantityMax);
}

/** Whether a firm's cost moves with its own output (learning-by-doing that actually lowers cost). */
function learns(cost: CostSpec): boolean {
  return cost.kind === "learning-by-doing" && cost.rate > 0 && cost.c0 > cost.cMin;
}

/** d mc / dK of a learning-by-doing cost at cumulative output K (0 for the other cost models). */
function learningSlope(cost: CostSpec, K: number): number {
  if (cost.kind !== "learning-by-doing") return 0;
  return -cost.rate * (cost.c0 - cost.cMin) * Math.exp(-cost.rate * K);
}

/** True when some firm's output today changes its own costs later (learning-by-doing or adjustment costs). */
export function hasEndogenousState(p: EpisodeProblem): boolean {
  return p.rounds > 1 && ((p.dynamics.adjustmentCost ?? 0) > 0 || p.firms.some((f) => learns(f.cost)));
}

/**
 * The reference that fits the problem:
 * - `open-loop-path` when output today changes a firm's costs later (learning-by-doing, adjustment costs);
 * - `expected-stage-path` otherwise, when the demand shock is persistent (rho != 0) or some firm
 *   maximises a valuation, and the shock has sigma > 0 (the stage equilibrium at each step's shock, in expectation);
 * - `stage-equilibrium` otherwise (one-round episodes, or nothing carries over from round to round).
 */
export function referenceKind(p: EpisodeProblem): ReferenceKind {
  if (p.rounds <= 1) return "stage-equilibrium";
  if (hasEndogenousState(p)) return "open-loop-path";
  const shock = p.dynamics.shock;
  const noisy = shock !== undefined && shock.sigma > 0;
  const persistent = noisy && shock.rho !== 0;
  const forward = p.firms.some((f) => f.objective === "valuation");
  return persistent || (noisy && forward) ? "expected-stage-path" : "stage-equilibrium";
}

/** Computes the reference `referenceKind` chooses. */
export function solveReferencePath(p: EpisodeProblem, opts: DynamicSolveOptions = {}): ReferencePath {
  validateEpisodeProblem(p);
  switch (referenceKind(p)) {
    case "open-loop-path":
      return solveOpenLoopPath(p, opts);
    case "expected-stage-path":
      return expectedStagePath(p, opts);
    case "stage-equilibrium":
      return stagePath(p);
  }
}

/** The one-shot stage equilibrium (episode-start state, mean shock) repeated at every step. */
export function stagePath(p: EpisodeProblem): ReferencePath {
  validateEpisodeProblem(p);
  const eq = solveEquilibrium(p.demand, eqFirms(p));
  const T = p.rounds;
  const forward = p.firms.some((f) => f.objective === "valuation");
  const why =
    T <= 1
      ? "one-round episodes"
      : forward
        ? "no firm's output affects later rounds (no learning-by-doing, no adjustment costs) and no persistent demand shock, so valuation and profit objectives play alike"
        : "no firm's output affects later rounds and no persistent demand shock";
  return {
    kind: "stage-equilibrium",
    description: `${eq.concept === "stackelberg" ? "Stackelberg" : "Cournot-Nash"} equilibrium of the one-shot stage game at the episode-start state (${why})`,
    rounds: T,
    price: new Array<number>(T).fill(eq.price),
    totalQuantity: new Array<number>(T).fill(eq.totalQuantity),
    firms: p.firms.map((f, i) => {
      const r = eq.firms[i]!;
      return {
        id: f.id,
        tier: f.tier,
        objective: f.objective,
        quantity: new Array<number>(T).fill(r.quantity),
        profit: new Array<number>(T).fill(r.profit),
        marginalCost: new Array<number>(T).fill(r.marginalCost),
        value: discountedSum(new Array<number>(T).fill(r.profit), valueDiscount(f)),
      };
    }),
    residual: 0,
    iterations: 0,
  };
}

/**
 * The stage equilibrium at each step's demand shock, in expectation over the shock's distribution
 * at that step: shift_0 = 0 and shift_t ~ N(0, sigma^2 (1 + rho^2 + ... + rho^(2(t-1)))).
 * Right when nothing a firm does affects later rounds (no learning-by-doing, no adjustment costs).
 */
export function expectedStagePath(p: EpisodeProblem, opts: DynamicSolveOptions = {}): ReferencePath {
  validateEpisodeProblem(p);
  if (hasEndogenousState(p)) {
    throw new EconomicsConfigError("expectedStagePath: firms' output changes their later costs here; use solveOpenLoopPath");
  }
  const T = p.rounds;
  const F = p.firms.length;
  const shock = p.dynamics.shock ?? { rho: 0, sigma: 0 };
  const n = opts.nodes ?? DEFAULT_NODES;
  const { x, w } = gaussHermite(n);
  const firms = eqFirms(p);
  const q = zeros(F, T);
  const pr = zeros(F, T);
  const mc = zeros(F, T);
  const prices = new Array<number>(T).fill(0);
  let variance = 0;
  let last: { variance: number; t: number } | undefined;
  for (let t = 0; t < T; t++) {
    if (t > 0) variance = shock.rho * shock.rho * variance + shock.sigma * shock.sigma;
    // The variance settles quickly at sigma^2 / (1 - rho^2): reuse the step before once it has.
    if (last !== undefined && Math.abs(variance - last.variance) <= 1e-14 * variance) {
      for (let f = 0; f < F; f++) {
        q[f]![t] = q[f]![last.t]!;
        pr[f]![t] = pr[f]![last.t]!;
        mc[f]![t] = mc[f]![last.t]!;
      }
      prices[t] = prices[last.t]!;
      continue;
    }
    const points = variance > 0 ? n : 1;
    for (let k = 0; k < points; k++) {
      const shift = variance > 0 ? Math.sqrt(2 * variance) * x[k]! : 0;
      const weight = variance > 0 ? w[k]! / Math.sqrt(Math.PI) : 1;
      const eq = solveEquilibrium(p.demand, firms, { shift });
      prices[t] = prices[t]! + weight * eq.price;
      for (let f = 0; f < F; f++) {
        q[f]![t] = q[f]![t]! + weight * eq.firms[f]!.quantity;
        pr[f]![t] = pr[f]![t]! + weight * eq.firms[f]!.profit;
        mc[f]![t] = mc[f]![t]! + weight * eq.firms[f]!.marginalCost;
      }
    }
    last = { variance, t };
  }
  const forward = p.firms.some((f) => f.objective === "valuation");
  return {
    kind: "expected-stage-path",
    description:
      `stage equilibrium at each step's demand shock, averaged over the AR(1) shock's distribution at that step ` +
      `(rho ${shock.rho}, sigma ${shock.sigma}, from 0 at the episode start; Gauss-Hermite, ${n} nodes)` +
      (forward ? "; no firm's output affects later rounds, so valuation and profit objectives play alike" : ""),
    rounds: T,
    price: prices,
    totalQuantity: Array.from({ length: T }, (_, t) => q.reduce((s, row) => s + row[t]!, 0)),
    firms: p.firms.map((f, i) => ({
      id: f.id,
      tier: f.tier,
      objective: f.objective,
      quantity: q[i]!,
      profit: pr[i]!,
      marginalCost: mc[i]!,
      value: discountedSum(pr[i]!, valueDiscount(f)),
    })),
    residual: 0,
    iterations: 0,
  };
}

/** The problem in the solver's terms. */
interface Prepared {
  p: EpisodeProblem;
  F: number;
  T: number;
  kappa: number;
  /** Per firm: discount of a valuation firm, -1 for a myopic firm. */
  gamma: Float64Array;
  cap: number;
}

/** Above this many unknowns (F T) Newton's dense solve costs more than it saves; Anderson alone is used. */
const NEWTON_LIMIT = 1500;
/** Newton iterations before falling back to Anderson acceleration. */
const NEWTON_ITERATIONS = 40;
/** Newton gives up when this many iterations have not halved the residual. */
const STALL_WINDOW = 4;

/**
 * The open-loop equilibrium path of the episode (see the file comment): valuation firms optimise
 * whole paths, profit firms best-respond round by round at their current state, tiers move in
 * order within each round, demand shocks at their expected value (zero).
 *
 * @throws EquilibriumError when the iteration does not converge, a stage game has no equilibrium,
 *   or the path leaves [0, quantityMax].
 */
export function solveOpenLoopPath(p: EpisodeProblem, opts: DynamicSolveOptions = {}): ReferencePath {
  validateEpisodeProblem(p);
  const F = p.firms.length;
  const T = p.rounds;
  const gamma = Float64Array.from(p.firms, (f) => (f.objective === "valuation" ? f.discount : -1));
  const start = solveEquilibrium(p.demand, eqFirms(p));
  // Iterates are kept in [0, cap] (a guard against wild steps, not the quantity range: a path
  // that wants more than quantityMax is reported as such below, not clipped).
  const cap = 10 * Math.max(start.totalQuantity, p.quantityMax ?? 0, 1);
  const prep: Prepared = { p, F, T, kappa: p.dynamics.adjustmentCost ?? 0, gamma, cap };

  // Start from the myopic path: every firm best-responding round by round (the answer when no firm
  // is forward-looking, and close to it otherwise).
  const x0 = new Float64Array(F * T);
  const stage = new Float64Array(F);
  const c = new Float64Array(F);
  const d = new Float64Array(F);
  for (let t = 0; t < T; t++) {
    stageLines(prep, x0, t, undefined, c, d);
    solveStage(prep, c, d, stage);
    for (let f = 0; f < F; f++) x0[f * T + t] = stage[f]!;
  }
  const tol = (opts.tol ?? DEFAULT_TOL) * Math.max(1, maxAbs(x0));
  const settings = {
    tol,
    maxIterations: opts.maxIterations ?? DEFAULT_MAX_ITERATIONS,
    memory: opts.memory ?? Math.min(10, F * T),
  };
  let solved: { q: Float64Array; residual: number; iterations: number };
  try {
    solved = solveFixedPoint(prep, x0, settings);
  } catch (err) {
    if (!(err instanceof EquilibriumError)) throw err;
    // From the myopic path, the value of learning can look large enough to make producing free
    // (the stage game then has no equilibrium) although it is not on the equilibrium path. Walk
    // there by continuation in the discount factors instead: at 0 the myopic path is the answer;
    // each step starts from the last solution.
    solved = continuation(prep, x0, settings, err);
  }
  const q = solved.q;
  const residual = solved.residual;
  const qMax = p.quantityMax;
  if (qMax !== undefined) {
    for (let f = 0; f < F; f++) {
      for (let t = 0; t < T; t++) {
        const v = q[f * T + t]!;
        if (v > qMax * (1 + 1e-12)) {
          throw new EquilibriumError(
            `open-loop path: firm ${p.firms[f]!.id} would produce ${v.toPrecision(6)} at step ${t}, above quantityMax ${qMax}`,
          );
        }
      }
    }
  }
  return buildPath(p, q, "open-loop-path", openLoopDescription(p), residual, solved.iterations);
}

interface FixedPointSettings {
  tol: number;
  maxIterations: number;
  memory: number;
}

/**
 * The fixed point q = S(q) from x0: Newton's method, then (kinks can stall it) Anderson acceleration.
 * Returns the stage-consistent image S(x) of the last iterate and its measured residual.
 *
 * @throws EquilibriumError when it does not converge or a stage game has no equilibrium.
 */
function solveFixedPoint(
  prep: Prepared,
  x0: Float64Array,
  o: FixedPointSettings,
): { q: Float64Array; residual: number; iterations: number } {
  const n = prep.F * prep.T;
  let x = x0;
  let iterations = 0;
  let converged = false;
  if (n <= NEWTON_LIMIT) {
    const r = newton(prep, x0, o.tol, Math.min(NEWTON_ITERATIONS, o.maxIterations));
    x = r.x;
    iterations = r.iterations;
    converged = r.residual <= o.tol;
  }
  if (!converged) {
    const more = anderson((v) => sweep(prep, v), x, {
      tol: o.tol,
      maxIterations: o.maxIterations,
      memory: o.memory,
      cap: prep.cap,
    });
    x = more.g;
    iterations += more.iterations;
  }
  const q = sweep(prep, x);
  const residual = maxAbsDiff(sweep(prep, q), q);
  if (!(residual <= 10 * o.tol)) {
    throw new EquilibriumError(
      `open-loop path: the iteration did not converge (residual ${residual.toExponential(2)} after ${iterations} iterations)`,
    );
  }
  return { q, residual, iterations };
}

/** Smallest continuation step in the discount factors before giving up. */
const MIN_CONTINUATION_STEP = 1 / 1024;

/**
 * solveFixedPoint for discounts lambda * gamma, lambda walking from 0 (the myopic path x0) to 1,
 * each step from the last solution, halving the step where a solve fails.
 */
function continuation(
  prep: Prepared,
  x0: Float64Array,
  o: FixedPointSettings,
  first: EquilibriumError,
): { q: Float64Array; residual: number; iterations: number } {
  let lambda = 0;
  let step = 0.25;
  let x = x0;
  let iterations = 0;
  let last: { q: Float64Array; residual: number; iterations: number } | undefined;
  while (lambda < 1) {
    const next = Math.min(1, lambda + step);
    const scaled: Prepared = { ...prep, gamma: prep.gamma.map((g) => (g > 0 ? g * next : g)) };
    try {
      last = solveFixedPoint(scaled, x, o);
      iterations += last.iterations;
      x = last.q;
      lambda = next;
      step = Math.min(2 * step, 0.5);
    } catch (err) {
      if (!(err instanceof EquilibriumError)) throw err;
      step /= 2;
      if (step < MIN_CONTINUATION_STEP) {
        throw new EquilibriumError(
          `open-loop path: no equilibrium path found (${first.message}; continuation in the discount factors stopped at ${lambda.toFixed(3)} of their values: ${err.message})`,
          { cause: err },
        );
      }
    }
  }
  return { q: last!.q, residual: last!.residual, iterations };
}

function openLoopDescription(p: EpisodeProblem): string {
  const forward = p.firms.filter((f) => f.objective === "valuation");
  const myopic = p.firms.filter((f) => f.objective === "profit");
  const parts = [`open-loop equilibrium of the ${p.rounds}-round episode`];
  if (forward.length > 0) {
    parts.push(
      `${forward.map((f) => `${f.id} (valuation, gamma ${f.discount})`).join(", ")} ${forward.length > 1 ? "choose the quantity paths that maximise their" : "chooses the quantity path that maximises its"} discounted episode value given the other firms' paths`,
    );
  }
  if (myopic.length > 0) {
    parts.push(
      `${myopic.map((f) => `${f.id} (profit)`).join(", ")} ${myopic.length > 1 ? "best-respond" : "best-responds"} each round at ${myopic.length > 1 ? "their" : "its"} current cost state`,
    );
  }
  const tiers = new Set(p.firms.map((f) => f.tier)).size;
  if (tiers > 1) parts.push("within a round later tiers respond to earlier ones, their continuation held on the path");
  const shock = p.dynamics.shock;
  if (shock !== undefined && shock.sigma > 0) parts.push("demand shock at its expected value 0 (certainty equivalence)");
  return parts.join("; ");
}

/** Cumulative outputs K, learning wedges W and their derivative sums A along a path. */
interface PathState {
  K: Float64Array;
  /** W_{f,t} = sum_{s>t} gamma^{s-t} (-mc'(K_{f,s})) q_{f,s} (valuation firms that learn; else 0). */
  W: Float64Array;
  /** A_{f,t} = sum_{s>t} gamma^{s-t} (-mc''(K_{f,s})) q_{f,s}: how W_t moves with K. */
  A: Float64Array;
}

function pathState(prep: Prepared, x: Float64Array): PathState {
  const { p, F, T, gamma } = prep;
  const W = new Float64Array(F * T);
  const A = new Float64Array(F * T);
  const K = new Float64Array(F * T);
  for (let f = 0; f < F; f++) {
    const off = f * T;
    for (let t = 1; t < T; t++) K[off + t] = K[off + t - 1]! + x[off + t - 1]!;
    const cost = p.firms[f]!.cost;
    const g = gamma[f]!;
    if (g <= 0 || cost.kind !== "learning-by-doing" || !learns(cost)) continue;
    for (let t = T - 2; t >= 0; t--) {
      const s = t + 1;
      const e = (cost.c0 - cost.cMin) * Math.exp(-cost.rate * K[off + s]!);
      W[off + t] = g * (cost.rate * e * x[off + s]! + W[off + s]!);
      A[off + t] = g * (-cost.rate * cost.rate * e * x[off + s]! + A[off + s]!);
    }
  }
  return { K, W, A };
}

/**
 * Round t's effective marginal cost lines c + d q given the path x (see the file comment). Without
 * `state` the firms are taken as myopic (the starting path, built round by round).
 */
function stageLines(
  prep: Prepared,
  x: Float64Array,
  t: number,
  state: PathState | undefined,
  c: Float64Array,
  d: Float64Array,
): void {
  const { p, F, T, kappa, gamma } = prep;
  for (let f = 0; f < F; f++) {
    const off = f * T;
    let K = 0;
    if (state !== undefined) K = state.K[off + t]!;
    else for (let s = 0; s < t; s++) K += x[off + s]!;
    const base = marginalCostLine(p.firms[f]!.cost, K);
    let cf = base.c;
    let df = base.d;
    if (t > 0 && kappa > 0) {
      cf -= kappa * x[off + t - 1]!;
      df += kappa;
    }
    const g = gamma[f]!;
    if (state !== undefined && g > 0) {
      cf -= state.W[off + t]!;
      if (t < T - 1 && kappa > 0) {
        cf -= g * kappa * x[off + t + 1]!;
        df += g * kappa;
      }
    }
    c[f] = cf;
    d[f] = df;
  }
}

/** The stage game with marginal cost lines c + d q, solved exactly (tiers in order); quantities into `out`. */
function solveStage(prep: Prepared, c: Float64Array, d: Float64Array, out: Float64Array): void {
  const { p, F } = prep;
  const firms: EqFirm[] = new Array(F);
  // The effective marginal cost may be negative (learning worth more than producing costs): the
  // stage solver handles that; the model's validation, which forbids it for real costs, is skipped.
  for (let f = 0; f < F; f++)
    firms[f] = { id: p.firms[f]!.id, tier: p.firms[f]!.tier, cost: { kind: "quadratic", c: c[f]!, d: d[f]! } };
  solvePreparedSubgame(prepareGame(p.demand, firms, {}, 0, true), 0, out);
}

/** S(x): every round's stage game solved given the path x (firm-major, x[f * T + t]). */
function sweep(prep: Prepared, x: Float64Array): Float64Array {
  const { F, T } = prep;
  const out = new Float64Array(F * T);
  const stage = new Float64Array(F);
  const c = new Float64Array(F);
  const d = new Float64Array(F);
  const state = pathState(prep, x);
  for (let t = 0; t < T; t++) {
    stageLines(prep, x, t, state, c, d);
    solveStage(prep, c, d, stage);
    for (let f = 0; f < F; f++) out[f * T + t] = stage[f]!;
  }
  return out;
}

/**
 * S(x) and its Jacobian (row-major, n x n with n = F T). Round t's solution depends on the path
 * only through the intercepts c_{g,t} (the slopes d are fixed), so dS_{f,t}/dx_{g,s} =
 * dS_{f,t}/dc_{g,t} * dc_{g,t}/dx_{g,s}: the first factor by central differences of the exact
 * stage solver (the stage solution is piecewise linear in c for linear demand), the second in
 * closed form.
 */
function sweepWithJacobian(prep: Prepared, x: Float64Array): { s: Float64Array; J: Float64Array } {
  const { p, F, T, kappa, gamma } = prep;
  const n = F * T;
  const s = new Float64Array(n);
  const J = new Float64Array(n * n);
  const state = pathState(prep, x);
  const c = new Float64Array(F);
  const d = new Float64Array(F);
  const stage = new Float64Array(F);
  const up = new Float64Array(F);
  const down = new Float64Array(F);
  const dc = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    stageLines(prep, x, t, state, c, d);
    solveStage(prep, c, d, stage);
    for (let f = 0; f < F; f++) s[f * T + t] = stage[f]!;
    for (let g = 0; g < F; g++) {
      const c0 = c[g]!;
      const h = 1e-6 * Math.max(1, Math.abs(c0));
      c[g] = c0 + h;
      solveStage(prep, c, d, up);
      c[g] = c0 - h;
      solveStage(prep, c, d, down);
      c[g] = c0;
      // dc_{g,t}/dx_{g,s} for every s.
      dc.fill(0);
      const off = g * T;
      const cost = p.firms[g]!.cost;
      if (cost.kind === "learning-by-doing" && learns(cost)) {
        const slope = learningSlope(cost, state.K[off + t]!);
        for (let u = 0; u < t; u++) dc[u] = dc[u]! + slope;
        const gg = gamma[g]!;
        if (gg > 0) {
          // c = ... - W_t, with dW_t/dx_u = A_t for u <= t and gamma^{u-t} (-mc'(K_u) + A_u) for u > t.
          for (let u = 0; u <= t; u++) dc[u] = dc[u]! - state.A[off + t]!;
          let gp = 1;
          for (let u = t + 1; u < T; u++) {
            gp *= gg;
            const mcSlope = learningSlope(cost, state.K[off + u]!);
            dc[u] = dc[u]! - gp * (-mcSlope + state.A[off + u]!);
          }
        }
      }
      if (kappa > 0) {
        if (t > 0) dc[t - 1] = dc[t - 1]! - kappa;
        if (gamma[g]! > 0 && t < T - 1) dc[t + 1] = dc[t + 1]! - gamma[g]! * kappa;
      }
      for (let f = 0; f < F; f++) {
        const dS = (up[f]! - down[f]!) / (2 * h);
        if (dS === 0) continue;
        const row = (f * T + t) * n + off;
        for (let u = 0; u < T; u++) J[row + u] = dS * dc[u]!;
      }
    }
  }
  return { s, J };
}

/**
 * Newton's method on R(x) = S(x) - x with a backtracking line search on max |R|. Returns the last
 * iterate; its residual says whether it converged (kinks, where a firm starts or stops producing,
 * can stall it: the caller then continues with Anderson acceleration).
 */
function newton(
  prep: Prepared,
  x0: Float64Array,
  tol: number,
  maxIterations: number,
): { x: Float64Array; residual: number; iterations: number } {
  const n = x0.length;
  let x = Float64Array.from(x0);
  let it = 0;
  let residual = Number.POSITIVE_INFINITY;
  const history: number[] = [];
  for (; it < maxIterations; it++) {
    const { s, J } = sweepWithJacobian(prep, x);
    const r = sub(s, x);
    residual = maxAbs(r);
    const merit = dot(r, r);
    if (residual <= tol) break;
    // Crawling: an active set changing a few steps per iteration (a firm entering or leaving along
    // the path). Anderson acceleration does better there.
    history.push(residual);
    if (history.length > STALL_WINDOW && residual > 0.5 * history[history.length - 1 - STALL_WINDOW]!) break;
    // (I - J) dx = R
    for (let i = 0; i < n; i++) J[i * n + i] = J[i * n + i]! - 1;
    for (let i = 0; i < n * n; i++) J[i] = -J[i]!;
    const dx = luSolve(J, r, n);
    if (dx === undefined) break;
    let lambda = 1;
    let accepted = false;
    for (let k = 0; k < 12; k++, lambda /= 2) {
      const xn = Float64Array.from(x, (v, i) => Math.min(Math.max(v + lambda * dx[i]!, 0), prep.cap));
      const sn = trySweep(prep, xn);
      if (sn === undefined) continue;
      const rn = sub(sn, xn);
      if (dot(rn, rn) < merit) {
        x = xn;
        accepted = true;
        break;
      }
    }
    if (!accepted) break;
  }
  return { x, residual, iterations: it };
}

function trySweep(prep: Prepared, x: Float64Array): Float64Array | undefined {
  try {
    return sweep(prep, x);
  } catch (err) {
    if (err instanceof EquilibriumError) return undefined;
    throw err;
  }
}

/** Solves A x = b (A row-major n x n, overwritten) by Gaussian elimination with partial pivoting; undefined if singular. */
function luSolve(A: Float64Array, b: Float64Array, n: number): Float64Array | undefined {
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let piv = k;
    let best = Math.abs(A[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(A[i * n + k]!);
      if (v > best) {
        best = v;
        piv = i;
      }
    }
    if (!(best > 0)) return undefined;
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const tmp = A[k * n + j]!;
        A[k * n + j] = A[piv * n + j]!;
        A[piv * n + j] = tmp;
      }
      const tb = x[k]!;
      x[k] = x[piv]!;
      x[piv] = tb;
    }
    const pivot = A[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const m = A[i * n + k]! / pivot;
      if (m === 0) continue;
      for (let j = k; j < n; j++) A[i * n + j] = A[i * n + j]! - m * A[k * n + j]!;
      x[i] = x[i]! - m * x[k]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < n; j++) s -= A[i * n + j]! * x[j]!;
    x[i] = s / A[i * n + i]!;
  }
  return x;
}

/** The path's prices, profits (production plus adjustment cost), marginal costs and values. */
function buildPath(
  p: EpisodeProblem,
  q: Float64Array,
  kind: ReferenceKind,
  description: string,
  residual: number,
  iterations: number,
): ReferencePath {
  const F = p.firms.length;
  const T = p.rounds;
  const kappa = p.dynamics.adjustmentCost ?? 0;
  const prices: number[] = [];
  const totals: number[] = [];
  const firms: ReferenceFirm[] = p.firms.map((f) => ({
    id: f.id,
    tier: f.tier,
    objective: f.objective,
    quantity: [],
    profit: [],
    marginalCost: [],
    value: 0,
  }));
  const K = new Float64Array(F);
  for (let t = 0; t < T; t++) {
    let Q = 0;
    for (let f = 0; f < F; f++) Q += q[f * T + t]!;
    const P = price(p.demand, Q);
    prices.push(P);
    totals.push(Q);
    for (let f = 0; f < F; f++) {
      const v = q[f * T + t]!;
      const cost = p.firms[f]!.cost;
      const dq = t > 0 ? v - q[f * T + t - 1]! : 0;
      const r = firms[f]!;
      r.quantity.push(v);
      r.profit.push((v > 0 ? P * v : 0) - totalCost(cost, v, K[f]!) - 0.5 * kappa * dq * dq);
      r.marginalCost.push(marginalCost(cost, v, K[f]!));
    }
    for (let f = 0; f < F; f++) K[f] = K[f]! + q[f * T + t]!;
  }
  p.firms.forEach((f, i) => {
    firms[i]!.value = discountedSum(firms[i]!.profit, valueDiscount(f));
  });
  return { kind, description, rounds: T, price: prices, totalQuantity: totals, firms, residual, iterations };
}

/** The discount a firm's episode value uses: its own for a valuation firm, 1 (a plain sum) for a profit firm. */
function valueDiscount(f: EpisodeFirm): number {
  return f.objective === "valuation" ? f.discount : 1;
}

function discountedSum(xs: readonly number[], gamma: number): number {
  let s = 0;
  let g = 1;
  for (const x of xs) {
    s += g * x;
    g *= gamma;
  }
  return s;
}

function eqFirms(p: EpisodeProblem): EqFirm[] {
  return p.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost }));
}

function zeros(F: number, T: number): number[][] {
  return Array.from({ length: F }, () => new Array<number>(T).fill(0));
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Anderson acceleration (type II, Walker and Ni 2011) of the fixed-point iteration x = G(x), iterates
 * kept in [0, cap]. A candidate on which G fails or whose residual blows up restarts the history
 * with a half step. For a linear G with memory >= its dimension this is GMRES: exact in finitely
 * many steps, which matters for adjustment costs, where plain iteration crawls.
 */
function anderson(
  G: (x: Float64Array) => Float64Array,
  x0: Float64Array,
  o: { tol: number; maxIterations: number; memory: number; cap: number },
): { g: Float64Array; iterations: number } {
  const n = x0.length;
  const clamp = (v: Float64Array) => {
    for (let i = 0; i < n; i++) v[i] = Math.min(Math.max(v[i]!, 0), o.cap);
    return v;
  };
  let x = clamp(Float64Array.from(x0));
  let g = G(x);
  let r = sub(g, x);
  let rn = maxAbs(r);
  const dR: Float64Array[] = [];
  const dG: Float64Array[] = [];
  let it = 0;
  for (; it < o.maxIterations && rn > o.tol; it++) {
    let xn: Float64Array = Float64Array.from(g);
    if (dR.length > 0) {
      const coef = leastSquares(dR, r);
      for (let j = 0; j < dR.length; j++) {
        const c = coef[j]!;
        if (c === 0) continue;
        const col = dG[j]!;
        for (let i = 0; i < n; i++) xn[i] = xn[i]! - c * col[i]!;
      }
    }
    clamp(xn);
    let gn = tryG(G, xn);
    if (gn === undefined || !(maxAbsDiff(gn, xn) <= BLOW_UP * rn)) {
      dR.length = 0;
      dG.length = 0;
      xn = clamp(Float64Array.from(x, (v, i) => v + 0.5 * r[i]!));
      gn = G(xn);
    }
    const rNew = sub(gn, xn);
    dR.push(sub(rNew, r));
    dG.push(sub(gn, g));
    if (dR.length > o.memory) {
      dR.shift();
      dG.shift();
    }
    x = xn;
    g = gn;
    r = rNew;
    rn = maxAbs(r);
  }
  return { g, iterations: it };
}

/** G(x), or undefined when a stage game of the candidate path has no equilibrium. */
function tryG(G: (x: Float64Array) => Float64Array, x: Float64Array): Float64Array | undefined {
  try {
    return G(x);
  } catch (err) {
    if (err instanceof EquilibriumError) return undefined;
    throw err;
  }
}

function sub(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

/**
 * argmin_c || rhs - sum_j c_j cols_j || by modified Gram-Schmidt; columns (nearly) dependent on
 * earlier ones get coefficient 0.
 */
function leastSquares(cols: readonly Float64Array[], rhs: Float64Array): Float64Array {
  const m = cols.length;
  const n = rhs.length;
  const Q: Float64Array[] = [];
  const kept: number[] = [];
  const R: number[][] = [];
  for (let j = 0; j < m; j++) {
    const v = Float64Array.from(cols[j]!);
    const norm0 = Math.sqrt(dot(v, v));
    const rcol: number[] = [];
    for (let k = 0; k < Q.length; k++) {
      const qk = Q[k]!;
      const h = dot(qk, v);
      rcol.push(h);
      for (let i = 0; i < n; i++) v[i] = v[i]! - h * qk[i]!;
    }
    const norm = Math.sqrt(dot(v, v));
    if (!(norm > 1e-12 * norm0) || norm === 0) continue;
    for (let i = 0; i < n; i++) v[i] = v[i]! / norm;
    rcol.push(norm);
    Q.push(v);
    R.push(rcol);
    kept.push(j);
  }
  const k = Q.length;
  const y = Q.map((qk) => dot(qk, rhs));
  // Back substitution: R is upper triangular with column j's entries in R[j][0..j].
  const z = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let j = i + 1; j < k; j++) s -= R[j]![i]! * z[j]!;
    z[i] = s / R[i]![i]!;
  }
  const coef = new Float64Array(m);
  kept.forEach((j, i) => {
    coef[j] = z[i]!;
  });
  return coef;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
