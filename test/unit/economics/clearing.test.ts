import { describe, expect, test } from "vitest";
import {
  advanceState,
  allocClearResult,
  clear,
  createState,
  type DemandSpec,
  type MarketModel,
  marginalCost,
  price,
  Rng,
  totalCost,
} from "../../../market/economics/index.js";
import { expectRel } from "./helpers.js";

const demands: [string, DemandSpec][] = [
  ["linear", { kind: "linear", a: 100, b: 0.5 }],
  ["constant-elasticity", { kind: "constant-elasticity", A: 80, elasticity: 1.6 }],
  ["exponential", { kind: "exponential", a: 90, b: 0.01 }],
];

function mixedModel(demand: DemandSpec, batch: number, kappa = 0.3): MarketModel {
  return {
    demand,
    costs: [
      { kind: "linear", c: 10, fixed: 3 },
      { kind: "quadratic", c: 4, d: 0.2 },
      { kind: "learning-by-doing", c0: 25, cMin: 5, rate: 0.02, fixed: 1 },
    ],
    dynamics: { shock: { rho: 0.9, sigma: 3 }, adjustmentCost: kappa },
    batch,
  };
}

function randomQuantities(rng: Rng, F: number, B: number): Float64Array {
  const q = new Float64Array(F * B);
  for (let k = 0; k < q.length; k++) q[k] = rng.next() < 0.1 ? 0 : rng.uniform(0, 60);
  return q;
}

describe("clearing", () => {
  test.each(demands)("clearing - %s batch result matches the per-instance scalar computation", (_, demand) => {
    const B = 64;
    const model = mixedModel(demand, B);
    const F = model.costs.length;
    const state = createState(model);
    const rng = new Rng(17);
    // Move past the first round so shocks, cumulative output and adjustment costs are all non-trivial.
    advanceState(model, state, randomQuantities(rng, F, B), rng);
    advanceState(model, state, randomQuantities(rng, F, B), rng);
    const q = randomQuantities(rng, F, B);
    const r = clear(model, state, q);
    for (let i = 0; i < B; i++) {
      let Q = 0;
      for (let f = 0; f < F; f++) Q += q[f * B + i]!;
      expectRel(r.totalQuantity[i]!, Q, 1e-14);
      const P = price(demand, Q, state.shift[i]);
      expectRel(r.prices[i]!, P, 1e-12);
      for (let f = 0; f < F; f++) {
        const k = f * B + i;
        const K = state.cumulative[k]!;
        const adj = 0.5 * 0.3 * (q[k]! - state.lastQuantity[k]!) ** 2;
        const cost = totalCost(model.costs[f]!, q[k]!, K) + adj;
        expectRel(r.revenues[k]!, P * q[k]!, 1e-12);
        expectRel(r.costs[k]!, cost, 1e-12);
        expectRel(r.profits[k]!, P * q[k]! - cost, 1e-12, Math.abs(cost) + 1);
        expectRel(r.marginalCosts[k]!, marginalCost(model.costs[f]!, q[k]!, K), 1e-14);
      }
    }
  });

  test("clearing - adjustment cost is charged except in an episode's first round", () => {
    const model: MarketModel = {
      demand: { kind: "linear", a: 100, b: 1 },
      costs: [{ kind: "linear", c: 10 }],
      dynamics: { adjustmentCost: 2 },
      batch: 2,
    };
    const state = createState(model);
    const q1 = Float64Array.from([5, 8]);
    const first = clear(model, state, q1);
    expect([...first.costs]).toEqual([50, 80]);
    advanceState(model, state, q1, new Rng(1));
    const q2 = Float64Array.from([7, 8]);
    const second = clear(model, state, q2);
    // (kappa/2)(7-5)^2 = 4 on top of 70; no change, no charge.
    expect([...second.costs]).toEqual([74, 80]);
    expect(second.profits[0]).toBe(7 * (100 - 7) - 74);
  });

  test("clearing - learning-by-doing lowers marginal cost as cumulative output grows", () => {
    const model: MarketModel = {
      demand: { kind: "linear", a: 100, b: 1 },
      costs: [{ kind: "learning-by-doing", c0: 30, cMin: 10, rate: 0.05 }],
      dynamics: {},
      batch: 2,
    };
    const state = createState(model);
    // Instance 0 produces 10 each round, instance 1 nothing.
    const q = Float64Array.from([10, 0]);
    const mc: number[][] = [];
    for (let t = 0; t < 5; t++) {
      const r = clear(model, state, q);
      mc.push([r.marginalCosts[0]!, r.marginalCosts[1]!]);
      advanceState(model, state, q, new Rng(t));
    }
    for (let t = 1; t < 5; t++) expect(mc[t]![0]).toBeLessThan(mc[t - 1]![0]!);
    expectRel(mc[4]![0]!, 10 + 20 * Math.exp(-0.05 * 40), 1e-14);
    expect(mc.every((m) => m[1] === 30)).toBe(true);
  });

  test("clearing - is pure: state untouched, and reuses a given output without allocating", () => {
    const model = mixedModel(demands[0]![1], 8);
    const state = createState(model);
    const rng = new Rng(5);
    advanceState(model, state, randomQuantities(rng, 3, 8), rng);
    const before = JSON.stringify([[...state.shift], [...state.cumulative], [...state.lastQuantity], state.firstRound]);
    const out = allocClearResult(3, 8);
    const q = randomQuantities(rng, 3, 8);
    const r1 = clear(model, state, q, out);
    const snapshot = Float64Array.from(r1.profits);
    const r2 = clear(model, state, q, out);
    expect(r1).toBe(out);
    expect(r2).toBe(out);
    expect([...r2.profits]).toEqual([...snapshot]);
    expect(JSON.stringify([[...state.shift], [...state.cumulative], [...state.lastQuantity], state.firstRound])).toBe(before);
  });

  test("clearing - zero output under constant elasticity gives an infinite price but zero revenue", () => {
    const model: MarketModel = {
      demand: { kind: "constant-elasticity", A: 10, elasticity: 2 },
      costs: [{ kind: "linear", c: 1 }],
      dynamics: {},
      batch: 1,
    };
    const r = clear(model, createState(model), Float64Array.of(0));
    expect(r.prices[0]).toBe(Infinity);
    expect(r.revenues[0]).toBe(0);
    expect(r.profits[0]).toBe(0);
  });

  test("clearing - wrong-length quantities are rejected", () => {
    const model = mixedModel(demands[0]![1], 4);
    expect(() => clear(model, createState(model), new Float64Array(11))).toThrow("quantities must have length 12 (got 11)");
  });
});
