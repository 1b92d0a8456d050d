/**
 * Speed of market/economics on one core, in-process (no bus): batched clearing, the batched
 * best-response oracle (closed-form and numeric paths) and the numeric three-tier equilibrium
 * solver. `economicsSection()` returns the BENCHMARKS.md section that `npm run bench` writes; run
 * this file alone (`node dist/bench/economics.js`) to print just that section. A few seconds.
 */
import { pathToFileURL } from "node:url";
import {
  allocClearResult,
  type CostSpec,
  clear,
  createState,
  type DemandSpec,
  type EqFirm,
  type MarketModel,
  Rng,
  solveEquilibrium,
  subgameBatch,
} from "../market/economics/index.js";

const DEMANDS: [string, DemandSpec][] = [
  ["linear", { kind: "linear", a: 100, b: 0.5 }],
  ["constant-elasticity", { kind: "constant-elasticity", A: 80, elasticity: 1.6 }],
  ["exponential", { kind: "exponential", a: 90, b: 0.01 }],
];

const lin = (c: number): CostSpec => ({ kind: "linear", c });

/** Median of `reps` timings of `f` (after `warm` untimed calls), in seconds. */
function seconds(f: () => void, reps: number, warm: number): number {
  for (let k = 0; k < warm; k++) f();
  const t: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    f();
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)] as number;
}

function uniform(rng: Rng, n: number, lo: number, hi: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform(lo, hi);
  return x;
}

/** Instances cleared per second: F = 2 (linear and quadratic cost), adjustment cost on, B = 100 000. */
function clearing(demand: DemandSpec): number {
  const B = 100_000;
  const model: MarketModel = {
    demand,
    costs: [
      { kind: "linear", c: 10 },
      { kind: "quadratic", c: 5, d: 0.1 },
    ],
    dynamics: { adjustmentCost: 0.1 },
    batch: B,
  };
  const state = createState(model);
  state.firstRound = false;
  const q = uniform(new Rng(1), 2 * B, 0, 60);
  const out = allocClearResult(2, B);
  return B / seconds(() => clear(model, state, q, out), 20, 5);
}

/** Oracle instances per second: a follower's quantity given the leader's commitment, per instance. */
function oracle(demand: DemandSpec, B: number): number {
  const firms: EqFirm[] = [
    { id: "L", tier: 0, cost: lin(10) },
    { id: "F1", tier: 1, cost: lin(12) },
    { id: "F2", tier: 1, cost: lin(15) },
  ];
  const rng = new Rng(4);
  const committed = uniform(rng, B, 0, 60);
  const shifts = uniform(rng, B, -15, 15);
  const out = new Float64Array(B);
  return B / seconds(() => subgameBatch({ demand, firms }, committed, shifts, 1, 1, out), 9, 2);
}

/** Milliseconds per solve of a three-tier game: two leaders, two middle firms, one last mover. */
function threeTiers(demand: DemandSpec): number {
  const firms: EqFirm[] = [
    { id: "A", tier: 0, cost: lin(2) },
    { id: "A2", tier: 0, cost: lin(2.2) },
    { id: "B", tier: 1, cost: { kind: "quadratic", c: 1, d: 0.05 } },
    { id: "B2", tier: 1, cost: lin(2.5) },
    { id: "C", tier: 2, cost: { kind: "quadratic", c: 1.5, d: 0.02 } },
  ];
  return 1000 * seconds(() => solveEquilibrium(demand, firms), 7, 1);
}

/** The BENCHMARKS.md section: markdown lines. */
export function economicsSection(): string[] {
  const m = (x: number) => (x / 1e6).toFixed(1);
  const lines = [
    "\n## Economics (market/economics, one core, in-process)\n",
    "Medians over repeated timed calls after a warm-up. Clearing: F = 2 (linear and quadratic cost), adjustment cost on, B = 100 000 per call. Oracle: a follower's subgame quantity given the leader's commitment and a demand shock, per instance (two followers in one tier); linear demand takes the closed form, the others the numeric solver. Equilibrium: the numeric solver on a three-tier game of five firms.\n",
    "| demand | clearing (M instances/s) | oracle (instances/s) | three-tier equilibrium (ms per solve) |",
    "|---|---:|---:|---:|",
  ];
  for (const [name, demand] of DEMANDS) {
    // The closed form is orders of magnitude faster than the numeric path; size each to ~0.1 s.
    const o = demand.kind === "linear" ? oracle(demand, 200_000) : oracle(demand, 200);
    lines.push(`| ${name} | ${m(clearing(demand))} | ${o.toFixed(0)} | ${threeTiers(demand).toFixed(1)} |`);
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.stdout.write(`${economicsSection().join("\n")}\n`);
