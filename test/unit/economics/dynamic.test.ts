import { describe, expect, test } from "vitest";
import {
  advanceState,
  type CostSpec,
  clear,
  createState,
  type DemandSpec,
  EconomicsConfigError,
  type EpisodeFirm,
  type EpisodeProblem,
  EquilibriumError,
  expectedStagePath,
  type ReferencePath,
  Rng,
  referenceKind,
  solveEquilibrium,
  solveOpenLoopPath,
  solveReferencePath,
  stagePath,
} from "../../../market/economics/index.js";
import { gaussHermite, normalExpectation } from "../../../market/economics/quadrature.js";
import { expectAllRel, expectRel, simpson } from "./helpers.js";

const linear: DemandSpec = { kind: "linear", a: 100, b: 1 };
const lbd = (c0: number, cMin: number, rate: number): CostSpec => ({ kind: "learning-by-doing", c0, cMin, rate });
const lin = (c: number): CostSpec => ({ kind: "linear", c });
const forward = (id: string, tier: number, cost: CostSpec, discount: number): EpisodeFirm => ({
  id,
  tier,
  cost,
  objective: "valuation",
  discount,
});
const myopic = (id: string, tier: number, cost: CostSpec): EpisodeFirm => ({
  id,
  tier,
  cost,
  objective: "profit",
  discount: 0.95,
});

/** experiments/valuation-learning-by-doing.yaml as an episode problem. */
const valuationLbd: EpisodeProblem = {
  demand: linear,
  firms: [forward("forward", 0, lbd(40, 10, 0.005), 0.95), myopic("myopic", 0, lbd(40, 10, 0.005))],
  dynamics: {},
  rounds: 10,
  quantityMax: 100,
};

/** Quantities of a path, firm-major: q[f][t]. */
const paths = (r: ReferencePath) => r.firms.map((f) => f.quantity);

/**
 * Each firm's per-round profits over the episode, simulated independently of the solver with the
 * market's own clearing and state dynamics (batch 1).
 */
function simulate(p: EpisodeProblem, q: number[][]): number[][] {
  const F = p.firms.length;
  const model = {
    demand: p.demand,
    costs: p.firms.map((f) => f.cost),
    dynamics: { adjustmentCost: p.dynamics.adjustmentCost ?? 0 },
    batch: 1,
  };
  const state = createState(model);
  const rng = new Rng(1);
  const out = p.firms.map(() => [] as number[]);
  for (let t = 0; t < p.rounds; t++) {
    const qt = Float64Array.from(q, (row) => row[t]!);
    const r = clear(model, state, qt);
    for (let f = 0; f < F; f++) out[f]!.push(r.profits[f]!);
    advanceState(model, state, qt, rng);
  }
  return out;
}

/** A firm's objective along the paths: the discounted episode value, or (myopic) round t's profit. */
function objective(p: EpisodeProblem, q: number[][], f: number, t: number): number {
  const profits = simulate(p, q)[f]!;
  const firm = p.firms[f]!;
  if (firm.objective === "profit") return profits[t]!;
  return profits.reduce((s, v, k) => s + firm.discount ** k * v, 0);
}

/**
 * dObjective_f / dq_{f,t} by central differences on the simulated episode. `response(t, g)` gives
 * d q_g,t / d q_f,t, the within-round response of a later-tier firm g (0 for everyone else).
 */
function focResidual(p: EpisodeProblem, q: number[][], f: number, t: number, response: (t: number, g: number) => number): number {
  const h = 1e-3;
  const moved = (sign: number) =>
    q.map((row, g) => row.map((v, s) => (s !== t ? v : g === f ? v + sign * h : v + sign * h * response(t, g))));
  return (objective(p, moved(1), f, t) - objective(p, moved(-1), f, t)) / (2 * h);
}

/** Solves A x = b by Gaussian elimination with partial pivoting (the tests' independent linear algebra). */
function solveLinear(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const k = M[r]![c]! / M[c]![c]!;
      for (let j = c; j <= n; j++) M[r]![j] = M[r]![j]! - k * M[c]![j]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

describe("dynamic reference", () => {
  test("dynamic reference - one-round episodes equal the static solver's equilibrium", () => {
    const cases: EpisodeProblem[] = [
      { ...valuationLbd, rounds: 1 },
      {
        demand: linear,
        firms: [
          forward("L", 0, { kind: "quadratic", c: 10, d: 0.5 }, 0.9),
          myopic("F1", 1, lbd(30, 5, 0.01)),
          forward("F2", 1, lin(12), 0.5),
        ],
        dynamics: { adjustmentCost: 2, shock: { rho: 0.9, sigma: 3 } },
        rounds: 1,
      },
      {
        demand: { kind: "exponential", a: 100, b: 0.05 },
        firms: [forward("A", 0, lbd(20, 5, 0.05), 0.9), myopic("B", 1, lin(10)), myopic("C", 2, lin(12))],
        dynamics: { adjustmentCost: 1 },
        rounds: 1,
      },
    ];
    for (const p of cases) {
      const eq = solveEquilibrium(
        p.demand,
        p.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost })),
      );
      const r = solveOpenLoopPath(p);
      expectAllRel(
        r.firms.map((f) => f.quantity[0]!),
        eq.firms.map((f) => f.quantity),
        1e-12,
        1,
      );
      expectAllRel(
        r.firms.map((f) => f.profit[0]!),
        eq.firms.map((f) => f.profit),
        1e-10,
        1,
      );
      expectRel(r.price[0]!, eq.price, 1e-12, 1);
      expect(referenceKind(p)).toBe("stage-equilibrium");
      expect(solveReferencePath(p).kind).toBe("stage-equilibrium");
    }
  });

  test("dynamic reference - without adjustment costs or learning-by-doing every step is the stage equilibrium", () => {
    const p: EpisodeProblem = {
      demand: linear,
      firms: [
        forward("L", 0, lin(10), 0.95),
        forward("F", 1, { kind: "quadratic", c: 8, d: 0.4 }, 0.9),
        myopic("G", 1, lbd(12, 12, 0.3)),
      ],
      dynamics: { adjustmentCost: 0 },
      rounds: 6,
    };
    const eq = solveEquilibrium(
      p.demand,
      p.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost })),
    );
    const r = solveOpenLoopPath(p);
    for (let t = 0; t < p.rounds; t++) {
      expectAllRel(
        r.firms.map((f) => f.quantity[t]!),
        eq.firms.map((f) => f.quantity),
        1e-12,
        1,
      );
    }
    // and the reference chosen for it says so
    expect(referenceKind(p)).toBe("stage-equilibrium");
    const s = solveReferencePath(p);
    expect(s.description).toMatch(/valuation and profit objectives play alike/);
    expectAllRel(s.firms[1]!.quantity, r.firms[1]!.quantity, 1e-12, 1);
  });

  test("dynamic reference - myopic firms play the stage equilibrium at each step's learning-by-doing cost", () => {
    const p: EpisodeProblem = {
      demand: linear,
      firms: [myopic("L", 0, lbd(40, 10, 0.01)), myopic("F", 1, lbd(30, 10, 0.02)), myopic("G", 1, lin(25))],
      dynamics: {},
      rounds: 8,
    };
    const r = solveOpenLoopPath(p);
    const K = [0, 0, 0];
    for (let t = 0; t < p.rounds; t++) {
      const eq = solveEquilibrium(
        p.demand,
        p.firms.map((f, i) => ({ id: f.id, tier: f.tier, cost: f.cost, cumulative: K[i]! })),
      );
      expectAllRel(
        r.firms.map((f) => f.quantity[t]!),
        eq.firms.map((f) => f.quantity),
        1e-11,
        1,
      );
      eq.firms.forEach((f, i) => {
        K[i] = K[i]! + f.quantity;
      });
    }
    // a valuation firm with discount 0 is myopic
    const zero = { ...p, firms: p.firms.map((f) => forward(f.id, f.tier, f.cost, 0)) };
    expectAllRel(paths(solveOpenLoopPath(zero)).flat(), paths(r).flat(), 1e-12, 1);
  });

  test("dynamic reference - adjustment costs alone keep the Cournot stage equilibrium (linear-quadratic, by hand)", () => {
    // With stationary costs and demand and one tier, the constant stage-equilibrium path has no
    // adjustment cost and meets every first-order condition (the wedges gamma kappa (q_{t+1} - q_t) vanish).
    const p: EpisodeProblem = {
      demand: linear,
      firms: [forward("A", 0, lin(10), 0.9), myopic("B", 0, { kind: "quadratic", c: 16, d: 1 }), forward("C", 0, lin(12), 0.5)],
      dynamics: { adjustmentCost: 3 },
      rounds: 4,
    };
    // A: 100 - 2 qA - qB - qC - 10 = 0, B: 100 - qA - 3 qB - qC - 16 = 0, C: 100 - qA - qB - 2 qC - 12 = 0
    const want = solveLinear(
      [
        [2, 1, 1],
        [1, 3, 1],
        [1, 1, 2],
      ],
      [90, 84, 88],
    );
    const r = solveOpenLoopPath(p);
    for (let t = 0; t < 4; t++)
      expectAllRel(
        r.firms.map((f) => f.quantity[t]!),
        want,
        1e-12,
        1,
      );
  });

  test("dynamic reference - T = 2, two tiers and adjustment costs match the linear first-order system solved by hand", () => {
    // Not the stage equilibrium: a follower that pays to adjust reacts less to the leader within a
    // round, and differently in round 0 (no adjustment cost yet, but its round-1 cost ahead).
    const [a, b, cL, cF, kappa, gL, gF] = [100, 1, 10, 10, 2, 0.95, 0.8];
    const p: EpisodeProblem = {
      demand: linear,
      firms: [forward("L", 0, lin(cL), gL), forward("F", 1, lin(cF), gF)],
      dynamics: { adjustmentCost: kappa },
      rounds: 2,
    };
    // The follower's round-t reaction slope to the leader, its continuation held on the path.
    const s0 = -b / (2 * b + gF * kappa);
    const s1 = -b / (2 * b + kappa);
    const x = solveLinear(
      [
        // leader, round 0: a - b(2 qL + qF) - b s0 qL - cL + gL kappa (qL1 - qL0) = 0
        [-2 * b - b * s0 - gL * kappa, -b, gL * kappa, 0],
        // follower, round 0: a - b(qL + 2 qF) - cF + gF kappa (qF1 - qF0) = 0
        [-b, -2 * b - gF * kappa, 0, gF * kappa],
        // leader, round 1: a - b(2 qL + qF) - b s1 qL - cL - kappa (qL1 - qL0) = 0
        [kappa, 0, -2 * b - b * s1 - kappa, -b],
        // follower, round 1: a - b(qL + 2 qF) - cF - kappa (qF1 - qF0) = 0
        [0, kappa, -b, -2 * b - kappa],
      ],
      [-(a - cL), -(a - cF), -(a - cL), -(a - cF)],
    );
    const r = solveOpenLoopPath(p);
    expect(r.kind).toBe("open-loop-path");
    expectAllRel(
      [r.firms[0]!.quantity[0]!, r.firms[1]!.quantity[0]!, r.firms[0]!.quantity[1]!, r.firms[1]!.quantity[1]!],
      x,
      1e-11,
      1,
    );
    expect(Math.abs(x[0]! - x[2]!)).toBeGreaterThan(0.1);
  });

  /** Newton's method with a central-difference Jacobian (the tests' independent root finder). */
  function newton(foc: (x: number[]) => number[], x0: number[]): number[] {
    let x = x0;
    for (let it = 0; it < 50; it++) {
      const f0 = foc(x);
      const J = f0.map((_, i) =>
        x.map((_, j) => {
          const h = 1e-6;
          const xp = x.map((v, k) => (k === j ? v + h : v));
          const xm = x.map((v, k) => (k === j ? v - h : v));
          return (foc(xp)[i]! - foc(xm)[i]!) / (2 * h);
        }),
      );
      const step = solveLinear(
        J,
        f0.map((v) => -v),
      );
      x = x.map((v, i) => v + step[i]!);
      if (Math.max(...step.map(Math.abs)) < 1e-13) break;
    }
    return x;
  }

  /**
   * The T = 2 first-order conditions written out by hand, unknowns [qA0, qB0, qA1, qB1]: A values
   * the episode (discount g, learning-by-doing mcA); B is a tier-0 myopic firm (`gB` undefined) or a
   * tier-1 follower valuing the episode with discount gB, whose reaction within a round A anticipates.
   */
  function handT2(
    mcA: (K: number) => number,
    dmcA: (K: number) => number,
    mcB: (K: number) => number,
    dmcB: (K: number) => number,
    g: number,
    kappa: number,
    gB?: number,
  ): number[] {
    const slope = (t: number) => (gB === undefined ? 0 : -1 / (2 + (t === 0 ? gB * kappa : kappa)));
    const ahead = gB ?? 0;
    return newton(
      ([a0, b0, a1, b1]) => [
        100 - (2 * a0! + b0!) - slope(0) * a0! - mcA(0) - g * dmcA(a0!) * a1! + g * kappa * (a1! - a0!),
        100 - (a0! + 2 * b0!) - mcB(0) - ahead * dmcB(b0!) * b1! + ahead * kappa * (b1! - b0!),
        100 - (2 * a1! + b1!) - slope(1) * a1! - mcA(a0!) - kappa * (a1! - a0!),
        100 - (a1! + 2 * b1!) - mcB(b0!) - kappa * (b1! - b0!),
      ],
      [25, 25, 25, 25],
    );
  }

  test("dynamic reference - T = 2 with adjustment costs and learning-by-doing solves the hand-written first-order conditions", () => {
    const mcA = (K: number) => 10 + 30 * Math.exp(-0.03 * K);
    const dmcA = (K: number) => -0.9 * Math.exp(-0.03 * K);
    const mcB = (K: number) => 12 + 20 * Math.exp(-0.05 * K);
    const dmcB = (K: number) => -1 * Math.exp(-0.05 * K);
    const costA = lbd(40, 10, 0.03);
    const costB = lbd(32, 12, 0.05);
    const order = (r: ReferencePath) => [
      r.firms[0]!.quantity[0]!,
      r.firms[1]!.quantity[0]!,
      r.firms[0]!.quantity[1]!,
      r.firms[1]!.quantity[1]!,
    ];
    for (const kappa of [0, 0.5, 4]) {
      // Cournot: A forward, B myopic
      const cournot = solveOpenLoopPath({
        demand: linear,
        firms: [forward("A", 0, costA, 0.9), myopic("B", 0, costB)],
        dynamics: { adjustmentCost: kappa },
        rounds: 2,
      });
      expectAllRel(order(cournot), handT2(mcA, dmcA, mcB, dmcB, 0.9, kappa), 1e-10, 1);
      // Stackelberg: A leads, B follows and values the episode with discount 0.8
      const stack = solveOpenLoopPath({
        demand: linear,
        firms: [forward("A", 0, costA, 0.9), forward("B", 1, costB, 0.8)],
        dynamics: { adjustmentCost: kappa },
        rounds: 2,
      });
      expectAllRel(order(stack), handT2(mcA, dmcA, mcB, dmcB, 0.9, kappa, 0.8), 1e-10, 1);
    }
  });

  test("dynamic reference - T = 2 learning-by-doing and adjustment costs equal best responses found by brute force on a refined grid", () => {
    const g = 0.9;
    const kappa = 0.5;
    const p: EpisodeProblem = {
      demand: linear,
      firms: [forward("A", 0, lbd(40, 10, 0.03), g), myopic("B", 0, lbd(40, 10, 0.03))],
      dynamics: { adjustmentCost: kappa },
      rounds: 2,
    };
    const mc = (K: number) => 10 + 30 * Math.exp(-0.03 * K);
    const profit = (q: number, other: number, K: number) => (100 - q - other) * q - mc(K) * q;
    const adjust = (q: number, last: number) => 0.5 * kappa * (q - last) ** 2;
    // Maximises f over [0, 100]^dims on a grid of step 1, then again around the best point on finer grids.
    const gridMax = (f: (x: number[]) => number, dims: number): number[] => {
      let best = new Array<number>(dims).fill(0);
      let lo = new Array<number>(dims).fill(0);
      let step = 1;
      let n = 100;
      while (step > 1e-9) {
        let bestValue = -Infinity;
        const base = lo;
        const idx = new Array<number>(dims).fill(0);
        for (;;) {
          const x = idx.map((k, d) => Math.min(100, Math.max(0, base[d]! + k * step)));
          const v = f(x);
          if (v > bestValue) {
            bestValue = v;
            best = x;
          }
          let d = 0;
          while (d < dims && ++idx[d]! > n) idx[d++] = 0;
          if (d === dims) break;
        }
        lo = best.map((v) => v - 2 * step);
        step /= 10;
        n = 40;
      }
      return best;
    };
    let A = [20, 20];
    let B = [20, 20];
    for (let it = 0; it < 60; it++) {
      const prev = [...A, ...B];
      // A: the whole path at once, its round-1 cost lowered by its round-0 output
      A = gridMax(([a0, a1]) => profit(a0!, B[0]!, 0) + g * (profit(a1!, B[1]!, a0!) - adjust(a1!, a0!)), 2);
      // B: each round on its own, at its current cost and last quantity
      const b0 = gridMax(([v]) => profit(v!, A[0]!, 0), 1)[0]!;
      const b1 = gridMax(([v]) => profit(v!, A[1]!, b0) - adjust(v!, b0), 1)[0]!;
      B = [b0, b1];
      if (Math.max(...[...A, ...B].map((v, i) => Math.abs(v - prev[i]!))) < 1e-8) break;
    }
    const r = solveOpenLoopPath(p);
    expectAllRel(r.firms[0]!.quantity, A, 1e-6, 1);
    expectAllRel(r.firms[1]!.quantity, B, 1e-6, 1);
    // learning pays: the forward firm produces more in round 0 than the myopic one
    expect(r.firms[0]!.quantity[0]!).toBeGreaterThan(r.firms[1]!.quantity[0]! + 1);
  });

  test("dynamic reference - first-order conditions hold to 1e-6 on the valuation-learning-by-doing experiment", () => {
    const r = solveOpenLoopPath(valuationLbd);
    const q = paths(r);
    for (let f = 0; f < 2; f++) {
      for (let t = 0; t < valuationLbd.rounds; t++) {
        expect(q[f]![t]!).toBeGreaterThan(1);
        expect(Math.abs(focResidual(valuationLbd, q, f, t, () => 0))).toBeLessThan(1e-6);
      }
    }
    // the forward firm out-produces the myopic one early, and the myopic firm expands as its cost falls
    expect(q[0]![0]! - q[1]![0]!).toBeGreaterThan(10);
    for (let t = 1; t < 10; t++) expect(q[1]![t]!).toBeGreaterThan(q[1]![t - 1]!);
    // the solver's profits and values agree with the market's clearing
    const sim = simulate(valuationLbd, q);
    expectAllRel(r.firms[0]!.profit, sim[0]!, 1e-12, 100);
    expectRel(
      r.firms[0]!.value,
      sim[0]!.reduce((s, v, k) => s + 0.95 ** k * v, 0),
      1e-12,
      100,
    );
    expectRel(
      r.firms[1]!.value,
      sim[1]!.reduce((s, v) => s + v, 0),
      1e-12,
      100,
    );
    expect(r.residual).toBeLessThan(1e-8);
  });

  test("dynamic reference - first-order conditions hold to 1e-6 with two tiers, adjustment costs and learning-by-doing", () => {
    const kappa = 1.5;
    const p: EpisodeProblem = {
      demand: linear,
      firms: [
        forward("L", 0, lbd(40, 10, 0.01), 0.9),
        forward("F1", 1, { kind: "quadratic", c: 12, d: 0.3 }, 0.8),
        myopic("F2", 1, lbd(30, 10, 0.02)),
      ],
      dynamics: { adjustmentCost: kappa },
      rounds: 6,
      quantityMax: 100,
    };
    const r = solveOpenLoopPath(p);
    const q = paths(r);
    const T = p.rounds;
    // The followers' round-t reactions to the leader: their effective stage first-order conditions,
    // a - b(qL + 2 qi + qj) - (d_i + adj_i) qi + const = 0 for i, j the two followers, solved for
    // dq_i/dqL (linear demand, both followers active).
    const response = (t: number, g: number) => {
      const e1 = 0.3 + (t > 0 ? kappa : 0) + (t < T - 1 ? 0.8 * kappa : 0);
      const e2 = t > 0 ? kappa : 0;
      // [2 + e1, 1; 1, 2 + e2] [r1; r2] = [-1; -1]
      const det = (2 + e1) * (2 + e2) - 1;
      const r1 = (-(2 + e2) + 1) / det;
      const r2 = (-(2 + e1) + 1) / det;
      return g === 1 ? r1 : g === 2 ? r2 : 0;
    };
    for (let f = 0; f < 3; f++) {
      for (let t = 0; t < T; t++) {
        expect(q[f]![t]!).toBeGreaterThan(1);
        const foc = focResidual(p, q, f, t, f === 0 ? response : () => 0);
        expect(Math.abs(foc), `firm ${f} step ${t}`).toBeLessThan(1e-6);
      }
    }
  });

  test("dynamic reference - a learning leader that limit-prices its follower out: no deviation pays (continuation solve)", () => {
    // From the myopic path the value of learning looks larger than the leader's cost (the stage
    // game there has no equilibrium); the solver walks there by continuation in the discount.
    const p: EpisodeProblem = {
      demand: linear,
      firms: [forward("L", 0, lbd(60, 0, 0.02), 0.95), myopic("F", 1, lin(35))],
      dynamics: {},
      rounds: 12,
    };
    const r = solveOpenLoopPath(p);
    expect(r.residual).toBeLessThan(1e-8);
    const q = paths(r);
    for (let t = 3; t < 12; t++) {
      expect(q[1]![t]!).toBeLessThan(1e-9);
      expectRel(r.price[t]!, 35, 1e-12, 1);
    }
    // The follower's reaction within a round is its myopic best reply; the leader's episode value
    // falls whichever way it moves any one round's quantity.
    const value = (path: number[][]) => objective(p, path, 0, 0);
    const base = value(q);
    for (let t = 0; t < 12; t++) {
      for (const delta of [-0.5, -0.01, 0.01, 0.5]) {
        const moved = q.map((row) => [...row]);
        moved[0]![t] = q[0]![t]! + delta;
        moved[1]![t] = Math.max(0, (65 - moved[0]![t]!) / 2);
        expect(value(moved), `step ${t}, delta ${delta}`).toBeLessThan(base);
      }
    }
  });

  test("dynamic reference - large adjustment costs converge (accelerated iteration)", () => {
    const p: EpisodeProblem = {
      demand: linear,
      firms: [forward("A", 0, lin(10), 0.99), forward("B", 0, lbd(30, 10, 0.01), 0.95), myopic("C", 1, lin(20))],
      dynamics: { adjustmentCost: 50 },
      rounds: 30,
    };
    const r = solveOpenLoopPath(p);
    expect(r.residual).toBeLessThan(1e-8);
    expect(r.iterations).toBeLessThan(200);
    // with costly adjustment the first round's output stays near its later level: no jumps
    for (const f of r.firms)
      for (let t = 1; t < p.rounds; t++) expect(Math.abs(f.quantity[t]! - f.quantity[t - 1]!)).toBeLessThan(2);
  });

  test("dynamic reference - non-linear demand: the path is stage-consistent and T = 1 agrees", () => {
    const p: EpisodeProblem = {
      demand: { kind: "exponential", a: 100, b: 0.05 },
      firms: [forward("A", 0, lbd(20, 5, 0.05), 0.9), myopic("B", 1, lin(10))],
      dynamics: { adjustmentCost: 0.5, shock: { rho: 0.5, sigma: 1 } },
      rounds: 5,
    };
    const r = solveReferencePath(p);
    expect(r.kind).toBe("open-loop-path");
    expect(r.residual).toBeLessThan(1e-8);
    expect(r.description).toMatch(/certainty equivalence/);
    // learning pays: the forward-looking leader produces more than at its myopic stage optimum
    const myopicLeader = solveOpenLoopPath({ ...p, firms: [{ ...p.firms[0]!, objective: "profit" }, p.firms[1]!] });
    expect(r.firms[0]!.quantity[0]!).toBeGreaterThan(myopicLeader.firms[0]!.quantity[0]!);
  });

  test("dynamic reference - persistent shocks alone: the stage equilibrium in expectation over each step's shock", () => {
    const lin2: EpisodeProblem = {
      demand: linear,
      firms: [forward("L", 0, lin(10), 0.9), myopic("F", 1, lin(10))],
      dynamics: { shock: { rho: 0.8, sigma: 2 } },
      rounds: 5,
    };
    expect(referenceKind(lin2)).toBe("expected-stage-path");
    const r = solveReferencePath(lin2);
    expect(r.kind).toBe("expected-stage-path");
    // linear in the shift while every firm produces: the expectation is the equilibrium at shift 0
    const eq = solveEquilibrium(linear, [
      { id: "L", tier: 0, cost: lin(10) },
      { id: "F", tier: 1, cost: lin(10) },
    ]);
    for (let t = 0; t < 5; t++) {
      expectRel(r.firms[0]!.quantity[t]!, eq.firms[0]!.quantity, 1e-12, 1);
      expectRel(r.firms[1]!.quantity[t]!, eq.firms[1]!.quantity, 1e-12, 1);
    }
    // profits are quadratic in the shift: E[pi] = pi(0) + Var(shift) / (8b) for the follower (q = (a + s - c)/(4b))
    const variance = 4 * (1 + 0.64 + 0.64 ** 2);
    expectRel(r.firms[1]!.profit[3]!, eq.firms[1]!.profit + variance / 16, 1e-10, 1);

    // exponential demand: compare with Simpson's rule over the normal density
    const expo: EpisodeProblem = { ...lin2, demand: { kind: "exponential", a: 100, b: 0.05 } };
    const e = expectedStagePath(expo);
    const firms = expo.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost }));
    const v2 = 4 * (1 + 0.64);
    const sd = Math.sqrt(v2);
    const density = (s: number) => Math.exp((-s * s) / (2 * v2)) / Math.sqrt(2 * Math.PI * v2);
    const want = simpson(
      (s) => density(s) * solveEquilibrium(expo.demand, firms, { shift: s }).firms[0]!.quantity,
      -10 * sd,
      10 * sd,
      400,
    );
    expectRel(e.firms[0]!.quantity[2]!, want, 1e-9, 1);
    expectRel(e.firms[0]!.quantity[0]!, solveEquilibrium(expo.demand, firms).firms[0]!.quantity, 1e-12, 1);
  });

  test("dynamic reference - Gauss-Hermite quadrature integrates normal moments exactly", () => {
    const { w } = gaussHermite(32);
    expectRel(
      w.reduce((s, v) => s + v, 0),
      Math.sqrt(Math.PI),
      1e-13,
    );
    expectRel(
      normalExpectation((s) => s * s, 2.5),
      2.5,
      1e-13,
    );
    expectRel(
      normalExpectation((s) => s ** 4, 2.5),
      3 * 2.5 ** 2,
      1e-12,
    );
    expectRel(
      normalExpectation((s) => Math.exp(s), 0.3),
      Math.exp(0.15),
      1e-13,
    );
    expect(normalExpectation((s) => s + 7, 0)).toBe(7);
  });

  test("dynamic reference - referenceKind picks the yardstick from the problem", () => {
    const base: EpisodeProblem = {
      demand: linear,
      firms: [myopic("A", 0, lin(10)), myopic("B", 0, lin(10))],
      dynamics: {},
      rounds: 5,
    };
    expect(referenceKind(base)).toBe("stage-equilibrium");
    expect(referenceKind({ ...base, dynamics: { adjustmentCost: 0.1 } })).toBe("open-loop-path");
    expect(referenceKind({ ...base, dynamics: { adjustmentCost: 0.1 }, rounds: 1 })).toBe("stage-equilibrium");
    expect(referenceKind({ ...base, firms: [myopic("A", 0, lbd(20, 10, 0.1)), myopic("B", 0, lin(10))] })).toBe("open-loop-path");
    // learning-by-doing that cannot lower the cost is a constant cost
    expect(referenceKind({ ...base, firms: [myopic("A", 0, lbd(20, 20, 0.1)), myopic("B", 0, lbd(20, 10, 0))] })).toBe(
      "stage-equilibrium",
    );
    expect(referenceKind({ ...base, dynamics: { shock: { rho: 0.5, sigma: 1 } } })).toBe("expected-stage-path");
    // i.i.d. shocks with myopic firms stay the static comparison; a valuation firm makes it per step
    expect(referenceKind({ ...base, dynamics: { shock: { rho: 0, sigma: 1 } } })).toBe("stage-equilibrium");
    expect(
      referenceKind({
        ...base,
        dynamics: { shock: { rho: 0, sigma: 1 } },
        firms: [forward("A", 0, lin(10), 0.9), myopic("B", 0, lin(10))],
      }),
    ).toBe("expected-stage-path");
    expect(referenceKind({ ...base, dynamics: { shock: { rho: 0.9, sigma: 0 } } })).toBe("stage-equilibrium");
    expect(stagePath(base).firms[0]!.quantity).toEqual(new Array(5).fill(30));
  });

  test("dynamic reference - bad problems are refused with the field named; a path beyond quantityMax is an EquilibriumError", () => {
    expect(() => solveReferencePath({ ...valuationLbd, rounds: 0 })).toThrow(
      new EconomicsConfigError("rounds must be a positive integer (got 0)"),
    );
    expect(() => solveReferencePath({ ...valuationLbd, firms: [forward("A", 0, lin(10), 2)] })).toThrow(
      /firms\[0\]\.discount must be in \[0, 1\]/,
    );
    expect(() => solveReferencePath({ ...valuationLbd, dynamics: { adjustmentCost: -1 } })).toThrow(
      /dynamics\.adjustmentCost must be >= 0/,
    );
    expect(() => solveReferencePath({ ...valuationLbd, firms: [myopic("A", 0, lin(-1))] })).toThrow(
      /firms\[0\]\.cost\.c must be >= 0/,
    );
    expect(() => solveOpenLoopPath({ ...valuationLbd, quantityMax: 25 })).toThrow(EquilibriumError);
    expect(() => solveOpenLoopPath({ ...valuationLbd, quantityMax: 25 })).toThrow(
      /forward would produce .* above quantityMax 25/,
    );
    expect(() => expectedStagePath(valuationLbd)).toThrow(EconomicsConfigError);
  });
});
