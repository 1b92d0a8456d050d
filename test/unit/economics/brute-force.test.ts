import { describe, expect, test } from "vitest";
import { goldenMax } from "../../../market/economics/roots.js";
import {
  type CostSpec,
  type DemandSpec,
  type EqFirm,
  price,
  solveEquilibrium,
  totalCost,
} from "../../../market/economics/index.js";
import { bruteForceEquilibrium, bruteForceSubgame } from "./brute-force.js";
import { expectAllRel, expectRel } from "./helpers.js";

const lin = (c: number): CostSpec => ({ kind: "linear", c });
const quad = (c: number, d: number): CostSpec => ({ kind: "quadratic", c, d });
const firm = (id: string, tier: number, cost: CostSpec): EqFirm => ({ id, tier, cost });

const ce: DemandSpec = { kind: "constant-elasticity", A: 100, elasticity: 1.5 };
const ce2: DemandSpec = { kind: "constant-elasticity", A: 40, elasticity: 2.5 };
const expo: DemandSpec = { kind: "exponential", a: 100, b: 0.05 };
const linear: DemandSpec = { kind: "linear", a: 100, b: 1 };

// Every firm is active in these games (interior solutions), where the finite-difference reference
// is accurate to ~1e-9; limit-pricing kinks are checked by direct search below.
const games: [string, DemandSpec, EqFirm[]][] = [
  [
    "constant-elasticity, 1 leader + 2 followers",
    ce2,
    [firm("L", 0, lin(1)), firm("F1", 1, lin(1.2)), firm("F2", 1, quad(1, 0.02))],
  ],
  [
    "exponential, 2 leaders + 2 followers, quadratic costs",
    expo,
    [firm("L", 0, lin(5)), firm("L2", 0, quad(2, 0.5)), firm("F", 1, lin(3)), firm("F2", 1, lin(4))],
  ],
  [
    "linear demand, quadratic costs, 2 leaders + 1 follower",
    linear,
    [firm("L1", 0, quad(10, 0.5)), firm("L2", 0, quad(5, 1)), firm("F", 1, quad(8, 0.2))],
  ],
  [
    "constant-elasticity, 3 tiers, quadratic costs",
    ce,
    [firm("A", 0, lin(1)), firm("B", 1, quad(1, 0.05)), firm("C", 2, lin(1.2))],
  ],
  ["exponential, 3 tiers, quadratic costs", expo, [firm("A", 0, lin(5)), firm("B", 1, quad(2, 0.5)), firm("C", 2, lin(3))]],
];

describe("equilibrium vs brute force", () => {
  test.each(games)("equilibrium - numeric solver matches an independent brute-force solution: %s", (_, demand, firms) => {
    const fast = solveEquilibrium(demand, firms);
    const slow = bruteForceEquilibrium(demand, firms);
    expect(slow.every((q) => q > 0)).toBe(true);
    expectAllRel(
      fast.firms.map((f) => f.quantity),
      slow,
      1e-6,
      fast.totalQuantity,
    );
    // And quantity by quantity, relative to each firm's own output.
    fast.firms.forEach((f, i) => expectRel(f.quantity, slow[i]!, 1e-6));
  });

  test.each([
    ["linear", linear, [firm("L", 0, lin(0)), firm("F", 1, lin(40))]],
    ["constant-elasticity", ce, [firm("L", 0, lin(1)), firm("F1", 1, lin(1.5)), firm("F2", 1, quad(1, 0.1))]],
    ["exponential", expo, [firm("L", 0, lin(1)), firm("F", 1, lin(25))]],
  ] as [string, DemandSpec, EqFirm[]][])(
    "equilibrium - a limit-pricing leader sits at the kink that a direct search of its profit finds (%s)",
    (_, demand, firms) => {
      const r = solveEquilibrium(demand, firms);
      // The leader's profit with followers re-solved independently, maximized by golden section:
      // at a kink the maximum is sharp, so the search is accurate there.
      const profit = (q: number) => {
        const rest = bruteForceSubgame(demand, firms, 1, q);
        const T = q + rest.reduce((s, v) => s + v, 0);
        return q * price(demand, T) - totalCost(firms[0]!.cost, q);
      };
      const best = goldenMax(profit, 0, 2 * r.totalQuantity + 10);
      expectRel(r.firms[0]!.quantity, best, 1e-6);
      // Some follower is exactly at its exit point: the price equals its marginal cost.
      const exiting = r.firms.filter((f) => f.tier === 1 && f.quantity < 1e-9 * r.totalQuantity);
      expect(exiting.length).toBeGreaterThan(0);
      expectRel(r.price, exiting[0]!.marginalCost, 1e-9);
    },
  );
});
