/**
 * The market model's shared shapes. Everything in market/economics is a pure function of these
 * values; batched arrays are Float64Array, and per-firm batched arrays are firm-major
 * (`x[f * B + i]` is firm f in market instance i).
 */

/**
 * Inverse demand, price as a function of total quantity Q.
 * The demand "level" is `a` (linear, exponential) or `A` (constant-elasticity); a demand shock
 * `shift` is added to the level (`level_t = level + shift_t`). A level pushed to or below zero by a
 * shock gives a zero price (free disposal), never a negative one.
 */
export type DemandSpec =
  /** P = max(0, a - b Q) */
  | { kind: "linear"; a: number; b: number }
  /** P = A * Q^(-1/elasticity) for Q > 0 (Infinity at Q = 0) */
  | { kind: "constant-elasticity"; A: number; elasticity: number }
  /** P = a * exp(-b Q) */
  | { kind: "exponential"; a: number; b: number };

/** A firm's production cost. `fixed` (default 0) is paid every round, whatever the quantity. */
export type CostSpec =
  /** C(q) = fixed + c q */
  | { kind: "linear"; c: number; fixed?: number }
  /** C(q) = fixed + c q + (d/2) q^2 */
  | { kind: "quadratic"; c: number; d: number; fixed?: number }
  /**
   * Marginal cost falls with cumulative own output K: mc(K) = cMin + (c0 - cMin) exp(-rate K);
   * C(q; K) = fixed + mc(K) q.
   */
  | { kind: "learning-by-doing"; c0: number; cMin: number; rate: number; fixed?: number };

/** What makes the future matter: persistent demand shocks and quantity adjustment costs. */
export interface DynamicsSpec {
  /** AR(1) demand shock: shift_{t+1} = rho shift_t + sigma N(0,1); shift_0 = 0 at an episode start. */
  shock?: { rho: number; sigma: number };
  /** kappa >= 0: each firm pays (kappa/2)(q_t - q_{t-1})^2; nothing in an episode's first round. */
  adjustmentCost?: number;
}

/**
 * One market configuration cleared over `batch` independent instances.
 * Firms are indexed 0..F-1 in the order of `costs` (the caller sorts firms by id).
 */
export interface MarketModel {
  demand: DemandSpec;
  costs: readonly CostSpec[];
  dynamics: DynamicsSpec;
  batch: number;
}

/** The market's dynamic state, one entry per instance (per firm and instance where firm-major). */
export interface MarketState {
  /** Demand shock added to the demand level, length B. */
  shift: Float64Array;
  /** Cumulative own output K (learning-by-doing), length F*B, firm-major. */
  cumulative: Float64Array;
  /** Each firm's quantity in the previous round (adjustment costs), length F*B, firm-major. */
  lastQuantity: Float64Array;
  /** True at an episode start: no adjustment cost is charged in that round. */
  firstRound: boolean;
}

/** One cleared round over the batch. Per-firm arrays are firm-major (F*B). */
export interface ClearResult {
  /** Price per instance, length B. */
  prices: Float64Array;
  /** Total quantity per instance, length B. */
  totalQuantity: Float64Array;
  /** revenue - cost, F*B. */
  profits: Float64Array;
  /** price * quantity, F*B. */
  revenues: Float64Array;
  /** Production cost plus adjustment cost, F*B. */
  costs: Float64Array;
  /** Marginal production cost used this round (at q, given K), F*B. */
  marginalCosts: Float64Array;
}
