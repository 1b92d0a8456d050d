import { describe, expect, test } from "vitest";
import {
  advanceState,
  createState,
  EconomicsConfigError,
  type MarketModel,
  Rng,
  resetState,
  validateModel,
} from "../../../market/economics/index.js";

const model: MarketModel = {
  demand: { kind: "linear", a: 100, b: 1 },
  costs: [
    { kind: "linear", c: 10 },
    { kind: "learning-by-doing", c0: 20, cMin: 5, rate: 0.05 },
  ],
  dynamics: { shock: { rho: 0.8, sigma: 2 }, adjustmentCost: 0.5 },
  batch: 4,
};

describe("dynamics", () => {
  test("dynamics - createState starts an episode: zeros and firstRound", () => {
    const s = createState(model);
    expect(s.shift).toEqual(new Float64Array(4));
    expect(s.cumulative).toEqual(new Float64Array(8));
    expect(s.lastQuantity).toEqual(new Float64Array(8));
    expect(s.firstRound).toBe(true);
  });

  test("dynamics - advanceState accumulates output, remembers quantities and ends the first round", () => {
    const s = createState(model);
    const q = Float64Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    advanceState(model, s, q, new Rng(1));
    advanceState(model, s, q, new Rng(2));
    expect([...s.cumulative]).toEqual([2, 4, 6, 8, 20, 40, 60, 80]);
    expect([...s.lastQuantity]).toEqual([...q]);
    expect(s.firstRound).toBe(false);
  });

  test("dynamics - resetState returns every instance to the episode start", () => {
    const s = createState(model);
    advanceState(model, s, new Float64Array(8).fill(3), new Rng(5));
    resetState(model, s);
    expect([...s.shift, ...s.cumulative, ...s.lastQuantity].every((v) => v === 0)).toBe(true);
    expect(s.firstRound).toBe(true);
  });

  test("dynamics - shocks follow the AR(1) exactly, one normal draw per instance in instance order", () => {
    const s = createState(model);
    const rng = Rng.fromName(42, "market-shocks");
    const replay = rng.clone();
    const expected = new Float64Array(4);
    for (let t = 0; t < 10; t++) {
      advanceState(model, s, new Float64Array(8), rng);
      for (let i = 0; i < 4; i++) expected[i] = 0.8 * expected[i]! + 2 * replay.normal();
      expect([...s.shift]).toEqual([...expected]);
    }
  });

  test("dynamics - shocks are reproducible for a seed and differ across seeds", () => {
    const run = (seed: number) => {
      const s = createState(model);
      const rng = Rng.fromName(seed, "market-shocks");
      for (let t = 0; t < 5; t++) advanceState(model, s, new Float64Array(8), rng);
      return [...s.shift];
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  test("dynamics - shock statistics match the AR(1): variance sigma^2 after one step, lag coefficient rho", () => {
    const big: MarketModel = { ...model, costs: [{ kind: "linear", c: 1 }], batch: 50_000 };
    const s = createState(big);
    const rng = new Rng(2024);
    const zero = new Float64Array(big.batch);
    advanceState(big, s, zero, rng);
    const first = Float64Array.from(s.shift);
    const variance = first.reduce((acc, x) => acc + x * x, 0) / first.length;
    expect(Math.abs(variance - 4)).toBeLessThan(0.1);
    advanceState(big, s, zero, rng);
    let xy = 0;
    let xx = 0;
    for (let i = 0; i < big.batch; i++) {
      xy += first[i]! * s.shift[i]!;
      xx += first[i]! * first[i]!;
    }
    expect(Math.abs(xy / xx - 0.8)).toBeLessThan(0.01);
  });

  test("dynamics - no shock configured means no draws and a constant zero shift", () => {
    const calm: MarketModel = { ...model, dynamics: {} };
    const s = createState(calm);
    const rng = new Rng(3);
    const untouched = rng.clone();
    advanceState(calm, s, new Float64Array(8), rng);
    expect([...s.shift]).toEqual([0, 0, 0, 0]);
    expect(rng.next()).toBe(untouched.next());
  });

  test("dynamics - validateModel names bad fields", () => {
    expect(() => validateModel({ ...model, batch: 0 })).toThrow("market.batch must be a positive integer (got 0)");
    expect(() => validateModel({ ...model, batch: 2.5 })).toThrow(/market\.batch must be a positive integer/);
    expect(() => validateModel({ ...model, demand: { kind: "linear", a: 1, b: -1 } })).toThrow(/market\.demand\.b must be > 0/);
    expect(() => validateModel({ ...model, costs: [] })).toThrow(/market\.costs must be a non-empty array/);
    expect(() =>
      validateModel({
        ...model,
        costs: [
          { kind: "linear", c: 1 },
          { kind: "quadratic", c: 1, d: -1 },
        ],
      }),
    ).toThrow("market.costs[1].d must be >= 0 (got -1)");
    expect(() => validateModel({ ...model, dynamics: { shock: { rho: 1.5, sigma: 1 } } })).toThrow(
      /market\.dynamics\.shock\.rho must be in \[-1, 1\]/,
    );
    expect(() => validateModel({ ...model, dynamics: { shock: { rho: 0.5, sigma: -1 } } })).toThrow(/sigma must be >= 0/);
    expect(() => validateModel({ ...model, dynamics: { adjustmentCost: -1 } })).toThrow(
      /market\.dynamics\.adjustmentCost must be >= 0/,
    );
    expect(() => createState({ ...model, batch: -1 })).toThrow(EconomicsConfigError);
  });

  test("dynamics - mismatched shapes are rejected", () => {
    const s = createState(model);
    expect(() => advanceState(model, s, new Float64Array(7), new Rng(1))).toThrow("quantities must have length 8 (got 7)");
    expect(() => resetState({ ...model, batch: 5 }, s)).toThrow(/state\.shift must have length 5/);
  });
});
