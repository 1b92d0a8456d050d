import { describe, expect, test } from "vitest";
import { type CostSpec, EconomicsConfigError, marginalCost, totalCost, validateCost } from "../../../market/economics/index.js";
import { expectRel } from "./helpers.js";

const linear: CostSpec = { kind: "linear", c: 10, fixed: 5 };
const quadratic: CostSpec = { kind: "quadratic", c: 4, d: 0.5, fixed: 2 };
const lbd: CostSpec = { kind: "learning-by-doing", c0: 30, cMin: 10, rate: 0.01, fixed: 1 };

describe("costs", () => {
  test("costs - linear cost is fixed + c q with constant marginal cost", () => {
    expect(totalCost(linear, 3)).toBe(35);
    expect(totalCost({ kind: "linear", c: 10 }, 3)).toBe(30);
    expect(marginalCost(linear, 3)).toBe(10);
    expect(totalCost(linear, 0)).toBe(5);
  });

  test("costs - quadratic cost is fixed + c q + (d/2) q^2 with marginal cost c + d q", () => {
    expect(totalCost(quadratic, 4)).toBe(2 + 16 + 4);
    expect(marginalCost(quadratic, 4)).toBe(6);
  });

  test("costs - learning-by-doing marginal cost falls from c0 toward cMin with cumulative output", () => {
    expect(marginalCost(lbd, 5, 0)).toBe(30);
    expectRel(marginalCost(lbd, 5, 100), 10 + 20 * Math.exp(-1), 1e-15);
    expect(marginalCost(lbd, 5, 1e6)).toBeCloseTo(10, 12);
    let prev = Infinity;
    for (const K of [0, 10, 50, 200, 1000]) {
      const mc = marginalCost(lbd, 1, K);
      expect(mc).toBeLessThan(prev);
      expect(mc).toBeGreaterThanOrEqual(10);
      prev = mc;
    }
    expectRel(totalCost(lbd, 4, 100), 1 + 4 * (10 + 20 * Math.exp(-1)), 1e-15);
  });

  test.each([
    ["linear", linear],
    ["quadratic", quadratic],
    ["learning-by-doing", lbd],
  ] as [string, CostSpec][])("costs - %s marginal cost is the derivative of total cost", (_, c) => {
    for (const K of [0, 40]) {
      for (const q of [0.5, 3, 20]) {
        const h = 1e-5 * q;
        const fd = (totalCost(c, q + h, K) - totalCost(c, q - h, K)) / (2 * h);
        expectRel(marginalCost(c, q, K), fd, 1e-8);
      }
    }
  });

  test("costs - validateCost names the bad field", () => {
    expect(() => validateCost({ kind: "linear", c: -1 }, "costs[0]")).toThrow("costs[0].c must be >= 0 (got -1)");
    expect(() => validateCost({ kind: "quadratic", c: 1, d: -2 })).toThrow("cost.d must be >= 0 (got -2)");
    expect(() => validateCost({ kind: "linear", c: 1, fixed: Number.POSITIVE_INFINITY })).toThrow(
      /cost\.fixed must be a finite number/,
    );
    expect(() => validateCost({ kind: "learning-by-doing", c0: 5, cMin: 8, rate: 0.1 })).toThrow(
      /cost\.cMin must be <= cost\.c0/,
    );
    expect(() => validateCost({ kind: "learning-by-doing", c0: 5, cMin: 1, rate: -1 })).toThrow(/cost\.rate must be >= 0/);
    expect(() => validateCost({ kind: "magic" } as unknown as CostSpec)).toThrow(EconomicsConfigError);
    for (const c of [linear, quadratic, lbd]) expect(() => validateCost(c)).not.toThrow();
  });
});
