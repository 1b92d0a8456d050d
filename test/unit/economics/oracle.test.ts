import { describe, expect, test } from "vitest";
import {
  type CostSpec,
  type DemandSpec,
  EconomicsConfigError,
  type EqFirm,
  Rng,
  solveSubgame,
  subgameBatch,
} from "../../../market/economics/index.js";
import { expectRel } from "./helpers.js";

const lin = (c: number): CostSpec => ({ kind: "linear", c });
const linear: DemandSpec = { kind: "linear", a: 100, b: 1 };

function randomInputs(B: number, maxCommitted: number, seed: number): { committed: Float64Array; shifts: Float64Array } {
  const rng = new Rng(seed);
  const committed = new Float64Array(B);
  const shifts = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    committed[i] = rng.uniform(0, maxCommitted);
    shifts[i] = rng.uniform(-15, 15);
  }
  return { committed, shifts };
}

/** The per-instance reference: solveSubgame with that instance's shift (and cumulative output). */
function reference(
  demand: DemandSpec,
  firms: EqFirm[],
  committed: number,
  shift: number,
  fromTier: number,
  firmIndex: number,
): number {
  return solveSubgame(demand, firms, committed, fromTier, { shift })[firmIndex]!;
}

describe("oracle", () => {
  test("oracle - linear fast path matches the per-instance subgame solution (followers and leaders)", () => {
    const firms: EqFirm[] = [
      { id: "L", tier: 0, cost: lin(10) },
      { id: "F1", tier: 1, cost: lin(12) },
      { id: "F2", tier: 1, cost: lin(40) },
      { id: "G", tier: 2, cost: lin(20) },
    ];
    const B = 200;
    const { committed, shifts } = randomInputs(B, 90, 1);
    // From tier 1 (two tiers remain: closed form); from tier 2 (one tier: Cournot).
    for (const [fromTier, firmIndex] of [
      [1, 1],
      [1, 2],
      [2, 3],
    ] as const) {
      const out = subgameBatch({ demand: linear, firms }, committed, shifts, fromTier, firmIndex);
      for (let i = 0; i < B; i++) {
        expectRel(out[i]!, reference(linear, firms, committed[i]!, shifts[i]!, fromTier, firmIndex), 1e-9, 100);
      }
    }
    // A two-tier game from the top: the leader's Stackelberg quantity, shift by shift.
    const twoTier = firms.slice(0, 3);
    const lead = subgameBatch({ demand: linear, firms: twoTier }, new Float64Array(B), shifts, 0, 0);
    for (let i = 0; i < B; i++) expectRel(lead[i]!, reference(linear, twoTier, 0, shifts[i]!, 0, 0), 1e-9, 100);
  });

  test("oracle - three remaining tiers and non-linear demand use the numeric solver per instance", () => {
    const firms: EqFirm[] = [
      { id: "A", tier: 0, cost: lin(2) },
      { id: "B", tier: 1, cost: { kind: "quadratic", c: 1, d: 0.05 } },
      { id: "C", tier: 2, cost: lin(2.5) },
    ];
    const ce: DemandSpec = { kind: "constant-elasticity", A: 100, elasticity: 1.5 };
    const B = 12;
    const { committed, shifts } = randomInputs(B, 50, 2);
    const out = subgameBatch({ demand: ce, firms }, committed, shifts, 1, 1);
    for (let i = 0; i < B; i++) expectRel(out[i]!, reference(ce, firms, committed[i]!, shifts[i]!, 1, 1), 1e-12, 1);
    const lin3 = firms.map((f) => ({ ...f, cost: lin(5) }));
    const top = subgameBatch({ demand: linear, firms: lin3 }, new Float64Array(B), shifts, 0, 0);
    for (let i = 0; i < B; i++) expectRel(top[i]!, (100 + shifts[i]! - 5) / 2, 1e-10, 50);
  });

  test("oracle - per-instance cumulative output sets learning-by-doing marginal costs", () => {
    const lbd: CostSpec = { kind: "learning-by-doing", c0: 30, cMin: 5, rate: 0.01 };
    const firms: EqFirm[] = [
      { id: "L", tier: 0, cost: lbd },
      { id: "F", tier: 1, cost: lbd },
    ];
    const B = 50;
    const rng = new Rng(3);
    const cumulative = new Float64Array(2 * B);
    for (let k = 0; k < cumulative.length; k++) cumulative[k] = rng.uniform(0, 300);
    const committed = new Float64Array(B);
    for (let i = 0; i < B; i++) committed[i] = rng.uniform(0, 60);
    for (const demand of [linear, { kind: "exponential", a: 100, b: 0.02 } as DemandSpec]) {
      const out = subgameBatch({ demand, firms, cumulative }, committed, undefined, 1, 1);
      for (let i = 0; i < B; i++) {
        const withK = firms.map((f, k) => ({ ...f, cumulative: cumulative[k * B + i]! }));
        expectRel(out[i]!, solveSubgame(demand, withK, committed[i]!, 1)[1]!, 1e-10, 1);
      }
    }
  });

  test("oracle - rejects a firm before fromTier and mismatched lengths", () => {
    const firms: EqFirm[] = [
      { id: "L", tier: 0, cost: lin(10) },
      { id: "F", tier: 1, cost: lin(10) },
    ];
    const c = new Float64Array(3);
    expect(() => subgameBatch({ demand: linear, firms }, c, undefined, 1, 0)).toThrow(
      /firmIndex 0 is in tier 0, before fromTier 1/,
    );
    expect(() => subgameBatch({ demand: linear, firms }, c, new Float64Array(2), 1, 1)).toThrow(
      "shifts must have length 3 (got 2)",
    );
    expect(() => subgameBatch({ demand: linear, firms, cumulative: new Float64Array(5) }, c, undefined, 1, 1)).toThrow(
      EconomicsConfigError,
    );
    expect(() => subgameBatch({ demand: linear, firms }, c, undefined, 1, 7)).toThrow(/firmIndex must be in 0\.\.1/);
    expect(() => subgameBatch({ demand: linear, firms }, Float64Array.of(1, -1), undefined, 1, 1)).toThrow(
      "committed[1] must be >= 0 (got -1)",
    );
  });

  test("oracle - writes into the caller's buffer on both paths, and rejects one of the wrong length", () => {
    const firms: EqFirm[] = [
      { id: "L", tier: 0, cost: lin(10) },
      { id: "F1", tier: 1, cost: lin(12) },
      { id: "F2", tier: 1, cost: lin(15) },
    ];
    const B = 2000;
    // Commitments up to the choke quantity, so that some instances leave the followers a residual
    // demand below their costs.
    const { committed, shifts } = randomInputs(B, 100, 4);
    const out = new Float64Array(B).fill(Number.NaN);
    expect(subgameBatch({ demand: linear, firms }, committed, shifts, 1, 1, out)).toBe(out);
    expect(out).toEqual(subgameBatch({ demand: linear, firms }, committed, shifts, 1, 1));
    let priced = 0;
    for (let i = 0; i < B; i++) {
      expect(out[i]).toBeGreaterThanOrEqual(0);
      // Residual demand a + shift - b * committed at or below F1's marginal cost: F1 stays out.
      if (100 + shifts[i]! - committed[i]! <= 12) {
        priced++;
        expect(out[i]).toBe(0);
      }
    }
    expect(priced).toBeGreaterThan(0);

    const ce: DemandSpec = { kind: "constant-elasticity", A: 100, elasticity: 1.5 };
    const numeric = { demand: ce, firms: firms.map((f) => ({ ...f, cost: lin(1 + f.tier) })) };
    const few = new Float64Array(20).fill(Number.NaN);
    expect(subgameBatch(numeric, committed.subarray(0, 20), shifts.subarray(0, 20), 0, 0, few)).toBe(few);
    expect(few).toEqual(subgameBatch(numeric, committed.subarray(0, 20), shifts.subarray(0, 20), 0, 0));
    expect(few.every((q) => Number.isFinite(q) && q > 0)).toBe(true);

    expect(() => subgameBatch({ demand: linear, firms }, committed, shifts, 1, 1, new Float64Array(B - 1))).toThrow(
      `out must have length ${B} (got ${B - 1})`,
    );
  });
});
