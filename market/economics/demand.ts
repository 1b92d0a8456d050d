/**
 * Inverse demand functions: price, slope, consumer surplus, and their batched form.
 * A shock `shift` is added to the demand level; a level at or below zero means a zero price.
 */

import { EconomicsConfigError, messages, requirePositive } from "./errors.js";
import type { DemandSpec } from "./types.js";

/** The demand level before shocks: `a` (linear, exponential) or `A` (constant-elasticity). */
export function demandLevel(demand: DemandSpec): number {
  return demand.kind === "constant-elasticity" ? demand.A : demand.a;
}

/** The same demand with `shift` added to its level (the level may become <= 0: zero prices). */
export function shiftDemand(demand: DemandSpec, shift: number): DemandSpec {
  if (shift === 0) return demand;
  return demand.kind === "constant-elasticity" ? { ...demand, A: demand.A + shift } : { ...demand, a: demand.a + shift };
}

/** Price at total quantity Q >= 0. Constant elasticity gives Infinity at Q = 0. */
export function price(demand: DemandSpec, Q: number, shift = 0): number {
  switch (demand.kind) {
    case "linear": {
      const p = demand.a + shift - demand.b * Q;
      return Math.max(p, 0);
    }
    case "constant-elasticity": {
      const level = demand.A + shift;
      if (!(level > 0)) return 0;
      if (!(Q > 0)) return Infinity;
      return level * Q ** (-1 / demand.elasticity);
    }
    case "exponential": {
      const level = demand.a + shift;
      return level > 0 ? level * Math.exp(-demand.b * Q) : 0;
    }
  }
}

/**
 * dP/dQ at Q. Linear demand's slope is -b where the price is positive and 0 where it is clamped
 * at zero (the right derivative at the kink, which is what a firm adding output faces).
 */
export function priceDerivative(demand: DemandSpec, Q: number, shift = 0): number {
  switch (demand.kind) {
    case "linear":
      return demand.a + shift - demand.b * Q > 0 ? -demand.b : 0;
    case "constant-elasticity": {
      const level = demand.A + shift;
      if (!(level > 0)) return 0;
      if (!(Q > 0)) return -Infinity;
      return -(level * Q ** (-1 / demand.elasticity)) / (demand.elasticity * Q);
    }
    case "exponential": {
      const level = demand.a + shift;
      return level > 0 ? -demand.b * level * Math.exp(-demand.b * Q) : 0;
    }
  }
}

/**
 * Taylor coefficients P^(k)(Q) / k! for k = 0..order, written into `out` (length >= order + 1).
 * The equilibrium solver differentiates reaction functions exactly with these instead of by
 * finite differences, whose noise compounds across tiers.
 */
export function priceTaylor(demand: DemandSpec, Q: number, order: number, shift = 0, out?: Float64Array): Float64Array {
  const c = out ?? new Float64Array(order + 1);
  c.fill(0, 0, order + 1);
  switch (demand.kind) {
    case "linear": {
      const p = demand.a + shift - demand.b * Q;
      if (p > 0) {
        c[0] = p;
        if (order >= 1) c[1] = -demand.b;
      }
      return c;
    }
    case "constant-elasticity": {
      const level = demand.A + shift;
      if (!(level > 0)) return c;
      const e = -1 / demand.elasticity;
      c[0] = level * Q ** e;
      for (let k = 1; k <= order; k++) c[k] = (c[k - 1]! * (e - (k - 1))) / (k * Q);
      return c;
    }
    case "exponential": {
      const level = demand.a + shift;
      if (!(level > 0)) return c;
      c[0] = level * Math.exp(-demand.b * Q);
      for (let k = 1; k <= order; k++) c[k] = (c[k - 1]! * -demand.b) / k;
      return c;
    }
  }
}

/**
 * Prices for a batch: `out[i] = price(demand, totalQ[i], shift?.[i] ?? 0)`. Allocation-free;
 * the kind switch is outside the loop.
 */
export function priceBatch(
  demand: DemandSpec,
  totalQ: Float64Array,
  shift: Float64Array | undefined,
  out: Float64Array,
): Float64Array {
  const n = totalQ.length;
  switch (demand.kind) {
    case "linear": {
      const { a, b } = demand;
      for (let i = 0; i < n; i++) {
        const p = a + (shift === undefined ? 0 : shift[i]!) - b * totalQ[i]!;
        out[i] = Math.max(p, 0);
      }
      return out;
    }
    case "constant-elasticity": {
      const { A } = demand;
      const e = -1 / demand.elasticity;
      for (let i = 0; i < n; i++) {
        const level = A + (shift === undefined ? 0 : shift[i]!);
        const q = totalQ[i]!;
        out[i] = !(level > 0) ? 0 : q > 0 ? level * q ** e : Infinity;
      }
      return out;
    }
    case "exponential": {
      const { a, b } = demand;
      for (let i = 0; i < n; i++) {
        const level = a + (shift === undefined ? 0 : shift[i]!);
        out[i] = level > 0 ? level * Math.exp(-b * totalQ[i]!) : 0;
      }
      return out;
    }
  }
}

/** The total quantity demanded at price P (the inverse of `price` where it is strictly decreasing). */
export function inverseToQuantity(demand: DemandSpec, P: number, shift = 0): number {
  switch (demand.kind) {
    case "linear": {
      const level = demand.a + shift;
      return level > P ? (level - P) / demand.b : 0;
    }
    case "constant-elasticity": {
      const level = demand.A + shift;
      if (!(level > 0)) return 0;
      if (!(P > 0)) return Infinity;
      return (level / P) ** demand.elasticity;
    }
    case "exponential": {
      const level = demand.a + shift;
      if (!(level > P)) return 0;
      if (!(P > 0)) return Infinity;
      return Math.log(level / P) / demand.b;
    }
  }
}

/**
 * Consumer surplus at total quantity Q: the integral of P from 0 to Q minus P(Q) Q.
 * Infinite for constant elasticity with elasticity <= 1 (the integral diverges at 0).
 */
export function consumerSurplus(demand: DemandSpec, Q: number, shift = 0): number {
  if (!(Q > 0)) return 0;
  switch (demand.kind) {
    case "linear": {
      const level = demand.a + shift;
      if (!(level > 0)) return 0;
      const qc = Math.min(Q, level / demand.b);
      return (demand.b * qc * qc) / 2;
    }
    case "constant-elasticity": {
      const level = demand.A + shift;
      if (!(level > 0)) return 0;
      if (demand.elasticity <= 1) return Infinity;
      return (level * Q ** (1 - 1 / demand.elasticity)) / (demand.elasticity - 1);
    }
    case "exponential": {
      const level = demand.a + shift;
      if (!(level > 0)) return 0;
      const bq = demand.b * Q;
      // expm1 keeps the small-Q case accurate, where 1 - exp(-bQ) cancels.
      return (level / demand.b) * -Math.expm1(-bq) - level * Q * Math.exp(-bq);
    }
  }
}

/** Throws EconomicsConfigError naming the bad field ("demand.b must be > 0 (got -1)"). */
export function validateDemand(d: DemandSpec, path = "demand"): void {
  if (typeof d !== "object" || d === null) throw new EconomicsConfigError(messages.notObject(path));
  switch (d.kind) {
    case "linear":
    case "exponential":
      requirePositive(`${path}.a`, d.a);
      requirePositive(`${path}.b`, d.b);
      return;
    case "constant-elasticity":
      requirePositive(`${path}.A`, d.A);
      requirePositive(`${path}.elasticity`, d.elasticity);
      return;
    default:
      throw new EconomicsConfigError(messages.unknownKind(path, (d as { kind?: unknown }).kind));
  }
}
