import { describe, expect, test } from "vitest";
import { priceTaylor } from "../../../market/economics/demand.js";
import {
  consumerSurplus,
  type DemandSpec,
  EconomicsConfigError,
  inverseToQuantity,
  price,
  priceBatch,
  priceDerivative,
  validateDemand,
} from "../../../market/economics/index.js";
import { expectRel, simpson } from "./helpers.js";

const linear: DemandSpec = { kind: "linear", a: 100, b: 2 };
const ce: DemandSpec = { kind: "constant-elasticity", A: 50, elasticity: 1.8 };
const ceInelastic: DemandSpec = { kind: "constant-elasticity", A: 50, elasticity: 0.7 };
const expo: DemandSpec = { kind: "exponential", a: 80, b: 0.03 };
const all: [string, DemandSpec][] = [
  ["linear", linear],
  ["constant-elasticity", ce],
  ["constant-elasticity (inelastic)", ceInelastic],
  ["exponential", expo],
];

describe("demand", () => {
  test("demand - linear price is a - bQ, clamped at zero, with the shift added to a", () => {
    expect(price(linear, 10)).toBe(80);
    expect(price(linear, 10, 5)).toBe(85);
    expect(price(linear, 60)).toBe(0);
    expect(price(linear, 10, -120)).toBe(0);
  });

  test("demand - constant-elasticity price is A Q^(-1/e), infinite at zero output", () => {
    expectRel(price(ce, 4), 50 * 4 ** (-1 / 1.8), 1e-15);
    expectRel(price(ce, 4, 10), 60 * 4 ** (-1 / 1.8), 1e-15);
    expect(price(ce, 0)).toBe(Infinity);
    expect(price(ce, 4, -60)).toBe(0);
  });

  test("demand - exponential price is a exp(-bQ)", () => {
    expectRel(price(expo, 20), 80 * Math.exp(-0.6), 1e-15);
    expectRel(price(expo, 20, -30), 50 * Math.exp(-0.6), 1e-15);
    expect(price(expo, 0)).toBe(80);
  });

  test.each(all)("demand - %s priceDerivative matches central finite differences", (_, d) => {
    for (const shift of [0, 3.5]) {
      for (const Q of [0.5, 3, 17, 40]) {
        const h = 1e-5 * Q;
        const fd = (price(d, Q + h, shift) - price(d, Q - h, shift)) / (2 * h);
        expectRel(priceDerivative(d, Q, shift), fd, 1e-7, 1e-6);
      }
    }
  });

  test("demand - linear slope is zero where the price is clamped", () => {
    expect(priceDerivative(linear, 10)).toBe(-2);
    expect(priceDerivative(linear, 51)).toBe(0);
  });

  test.each(all)("demand - %s Taylor coefficients match the derivative and its finite difference", (_, d) => {
    const Q = 7;
    const c = priceTaylor(d, Q, 3, 1.5);
    expect(c[0]).toBe(price(d, Q, 1.5));
    expectRel(c[1]!, priceDerivative(d, Q, 1.5), 1e-14, 1e-12);
    const h = 1e-4 * Q;
    const second = (priceDerivative(d, Q + h, 1.5) - priceDerivative(d, Q - h, 1.5)) / (2 * h);
    expectRel(2 * c[2]!, second, 1e-6, 1e-9);
  });

  test("demand - priceBatch matches scalar price, with and without shifts", () => {
    const Q = Float64Array.from([0, 0.1, 5, 30, 49.9, 80]);
    const shift = Float64Array.from([0, -2, 3, 10, -60, 1]);
    for (const [, d] of all) {
      const out = new Float64Array(Q.length);
      priceBatch(d, Q, shift, out);
      Q.forEach((q, i) => expect(out[i]).toBe(price(d, q, shift[i])));
      priceBatch(d, Q, undefined, out);
      Q.forEach((q, i) => expect(out[i]).toBe(price(d, q)));
    }
  });

  test.each([
    ["linear", linear],
    ["constant-elasticity", ce],
    ["exponential", expo],
  ] as [string, DemandSpec][])("demand - %s consumer surplus equals the integrated area under demand above the price", (_, d) => {
    for (const shift of [0, 4]) {
      for (const Q of [1, 12, 45, 70]) {
        // Constant elasticity's integrand is singular at 0; substituting q = t^10 makes it smooth.
        const integral =
          d.kind === "constant-elasticity"
            ? simpson((t) => (t === 0 ? 0 : price(d, t ** 10, shift) * 10 * t ** 9), 0, Q ** 0.1, 20000)
            : simpson((x) => price(d, x, shift), 0, Q, 20000);
        const area = integral - price(d, Q, shift) * Q;
        expectRel(consumerSurplus(d, Q, shift), area, 1e-6, 1e-6);
      }
    }
  });

  test("demand - consumer surplus of linear demand past the choke quantity is a^2/(2b)", () => {
    expect(consumerSurplus(linear, 50)).toBe(2500);
    expect(consumerSurplus(linear, 80)).toBe(2500);
    expect(consumerSurplus(linear, 0)).toBe(0);
  });

  test("demand - consumer surplus is infinite for constant elasticity at most 1", () => {
    expect(consumerSurplus(ceInelastic, 3)).toBe(Infinity);
    expect(consumerSurplus({ kind: "constant-elasticity", A: 5, elasticity: 1 }, 3)).toBe(Infinity);
  });

  test.each(all)("demand - %s inverseToQuantity inverts price", (_, d) => {
    for (const Q of [0.5, 4, 30]) {
      const P = price(d, Q, 2);
      if (P > 0) expectRel(inverseToQuantity(d, P, 2), Q, 1e-12);
    }
  });

  test("demand - validateDemand names the bad field", () => {
    expect(() => validateDemand({ kind: "linear", a: 100, b: 0 })).toThrow("demand.b must be > 0 (got 0)");
    expect(() => validateDemand({ kind: "linear", a: 100, b: -1 })).toThrow(/demand\.b must be > 0/);
    expect(() => validateDemand({ kind: "linear", a: Number.NaN, b: 1 })).toThrow("demand.a must be a finite number (got NaN)");
    expect(() => validateDemand({ kind: "constant-elasticity", A: 1, elasticity: 0 })).toThrow(/demand\.elasticity must be > 0/);
    expect(() => validateDemand({ kind: "exponential", a: -1, b: 1 }, "market.demand")).toThrow(/market\.demand\.a must be > 0/);
    expect(() => validateDemand({ kind: "cubic" } as unknown as DemandSpec)).toThrow(EconomicsConfigError);
    expect(() => validateDemand({ kind: "cubic" } as unknown as DemandSpec)).toThrow(/demand\.kind is not a known kind/);
    for (const [, d] of all) expect(() => validateDemand(d)).not.toThrow();
  });
});
