import { describe, expect, test } from "vitest";
import { EconomicsConfigError, linearCollusive, linearCournot, linearStackelberg } from "../../../market/economics/index.js";
import { expectRel } from "./helpers.js";

const quantities = (r: { firms: { quantity: number }[] }) => r.firms.map((f) => f.quantity);

describe("closed forms", () => {
  test("equilibrium - linear stackelberg matches the hand example (1 leader, 1 follower)", () => {
    const r = linearStackelberg(100, 1, [10], [10]);
    expect(r.concept).toBe("stackelberg");
    expect(quantities(r)).toEqual([45, 22.5]);
    expect(r.price).toBe(32.5);
    expect(r.firms.map((f) => f.profit)).toEqual([1012.5, 506.25]);
    expect(r.firms.map((f) => [f.id, f.tier])).toEqual([
      ["leader-0", 0],
      ["follower-0", 1],
    ]);
    expect(r.consumerSurplus).toBe(67.5 ** 2 / 2);
    expect(r.producerSurplus).toBe(1518.75);
    expect(r.totalWelfare).toBe(67.5 ** 2 / 2 + 1518.75);
  });

  test("equilibrium - linear stackelberg with two followers matches the hand example (45, 15, 15)", () => {
    const r = linearStackelberg(100, 1, [10], [10, 10]);
    expect(quantities(r).map((q) => Math.round(q * 1e12) / 1e12)).toEqual([45, 15, 15]);
    expectRel(r.price, 25, 1e-14);
  });

  test("equilibrium - linear stackelberg with m leaders and n followers follows the symmetric formula", () => {
    // Followers: total n(A - c)/((n+1)b) given A = a - bX; leaders face slope b/(n+1), so
    // each leader's quantity is (a - c)/((m+1)b).
    for (const [m, n] of [
      [2, 1],
      [3, 2],
      [2, 4],
    ] as const) {
      const r = linearStackelberg(120, 2, new Array(m).fill(20), new Array(n).fill(20));
      const qL = (120 - 20) / ((m + 1) * 2);
      const qF = (120 - 2 * m * qL - 20) / ((n + 1) * 2);
      quantities(r).forEach((q, i) => expectRel(q, i < m ? qL : qF, 1e-13));
    }
  });

  test("equilibrium - linear cournot follows (a - c)/((n + 1) b) and drops firms priced out", () => {
    const sym = linearCournot(100, 1, [10, 10, 10]);
    expect(sym.concept).toBe("cournot");
    quantities(sym).forEach((q) => expectRel(q, 22.5, 1e-14));
    expectRel(sym.price, 32.5, 1e-14);
    // Asymmetric: with all three active P = (100 + 10 + 20 + 95)/4 = 56.25 < 95, so firm 3 is out.
    const asym = linearCournot(100, 1, [10, 20, 95]);
    expect(quantities(asym).map((q) => Math.round(q * 1e10) / 1e10)).toEqual([33.3333333333, 23.3333333333, 0]);
    expectRel(asym.price, 130 / 3, 1e-14);
  });

  test("equilibrium - linear collusion: only the cheapest firms produce the monopoly output, ties split it", () => {
    const r = linearCollusive(100, 1, [20, 10, 10]);
    expect(r.concept).toBe("collusive");
    expect(quantities(r)).toEqual([0, 22.5, 22.5]);
    expect(r.price).toBe(55);
    expect(r.producerSurplus).toBe(45 * 45);
    expect(linearCollusive(100, 1, [120]).totalQuantity).toBe(0);
  });

  test("equilibrium - linear stackelberg: a cheap leader limit-prices an expensive follower out at the kink", () => {
    // Follower active: the leader would pick 70 > 60 = (a - cF)/b where the follower exits; without
    // the follower the monopoly output 50 < 60. So the leader sits at the kink, 60, and P = cF.
    const r = linearStackelberg(100, 1, [0], [40]);
    expect(quantities(r)).toEqual([60, 0]);
    expect(r.price).toBe(40);
    // A very cheap leader is a plain monopolist; an expensive follower never enters.
    expect(quantities(linearStackelberg(100, 1, [0], [60]))).toEqual([50, 0]);
  });

  test("equilibrium - linear stackelberg with a priced-out leader reduces to follower cournot", () => {
    const r = linearStackelberg(100, 1, [150], [10, 10]);
    expect(quantities(r)[0]).toBe(0);
    quantities(r)
      .slice(1)
      .forEach((q) => expectRel(q, 30, 1e-14));
  });

  test("equilibrium - closed forms validate their inputs", () => {
    expect(() => linearCournot(100, 0, [1])).toThrow("b must be > 0 (got 0)");
    expect(() => linearStackelberg(100, 1, [-1], [1])).toThrow(EconomicsConfigError);
    expect(() => linearCollusive(-5, 1, [1])).toThrow(/a must be > 0/);
  });
});
