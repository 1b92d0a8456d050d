/**
 * What a centralized critic gets from the market's training subject: MAPPO's experience rows and
 * MADDPG's transitions carry the same round's quantities of the firms of its own and earlier tiers
 * (normalized to [-1, 1]) in the critic's input columns, nothing of later tiers; a round whose
 * training information never comes is not trained on and is counted.
 */
import { describe, expect, test } from "vitest";
import { criticPeers } from "../../../agents/learning/ctde.js";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type DdpgConfig, DdpgPolicy } from "../../../agents/policies/ddpg.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import type { ActContext, RunView, TrainingView } from "../../../agents/policy.js";
import { OBSERVATION_COLUMNS } from "../../../services/bus/index.js";
import { type Experiment, parseExperiment } from "../../../services/config/index.js";
import { Capturing } from "./harness.js";

const B = 2;
const QMAX = 100;
const exp: Experiment = parseExperiment({
  name: "ctde-columns",
  seed: 2,
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: B, episodes: 10, quantityMax: QMAX },
  firms: [
    { id: "a", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo", horizon: 1 } },
    { id: "b", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg", minibatch: 2 } },
    { id: "f", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo", horizon: 1 } },
  ],
  training: { deterministic: true },
});

function viewOf(id: string): RunView {
  const k = exp.firms.findIndex((f) => f.id === id);
  const f = exp.firms[k]!;
  return {
    runId: "t",
    firmId: id,
    firmIndex: k,
    tier: f.tier,
    batch: B,
    roundsPerEpisode: 1,
    totalRounds: exp.market.totalRounds,
    quantityMax: QMAX,
    demand: exp.market.demand,
    shockRho: 0,
    shockSigma: 0,
    adjustmentCost: 0,
    seed: exp.seed,
    firms: exp.firms.map((x) => ({ id: x.id, tier: x.tier, cost: x.cost })),
    observationColumns: [...OBSERVATION_COLUMNS],
  };
}

const ctx = (round: number): ActContext => ({
  round,
  episode: round,
  step: 0,
  episodeEnd: true,
  phase: "simultaneous",
  observation: new Float64Array(B * OBSERVATION_COLUMNS.length),
  committedTotal: new Float64Array(B),
  committed: new Map(),
  ownLastQuantity: new Float64Array(B),
  ownMarginalCost: new Float64Array(B).fill(10),
});

/** Firm-major quantities of a, b, f in the two instances: a = 20, 40; b = 60, 80; f = 10, 30. */
const JOINT = Float64Array.from([20, 40, 60, 80, 10, 30]);
const info = (round: number): TrainingView => ({
  round,
  episode: round,
  step: 0,
  episodeEnd: true,
  firmIds: exp.firms.map((f) => f.id),
  observation: new Float64Array(B * OBSERVATION_COLUMNS.length),
  nextObservation: new Float64Array(B * OBSERVATION_COLUMNS.length),
  quantities: JOINT,
  profits: new Float64Array(3 * B).fill(100),
  marginalCosts: new Float64Array(3 * B).fill(10),
  prices: new Float64Array(B).fill(50),
});
const outcome = (round: number, k: number) => ({
  round,
  episode: round,
  step: 0,
  episodeEnd: true,
  prices: new Float64Array(B).fill(50),
  quantity: JOINT.slice(k * B, (k + 1) * B),
  profit: new Float64Array(B).fill(100),
  absent: false,
  allQuantities: JOINT,
});
const norm = (q: number) => (2 * q) / QMAX - 1;

describe("ctde critic inputs", () => {
  test("ctde - the peers: own tier and earlier tiers, never a later tier", () => {
    expect(criticPeers(viewOf("a"))).toEqual([1]); // the other leader, not the follower
    expect(criticPeers(viewOf("b"))).toEqual([0]);
    expect(criticPeers(viewOf("f"))).toEqual([0, 1]); // both leaders
  });

  test("ctde - MAPPO rows carry the peers' same-round quantities from the training information; a missing one is counted, not trained on", async () => {
    for (const id of ["a", "f"]) {
      const host = new Capturing();
      const firm = exp.firms.find((f) => f.id === id)!;
      const p = await PpoPolicy.create(viewOf(id), firm.policy as PpoConfig, { ...learnerOptions(exp, firm), trainerHost: () => host });
      try {
        const k = exp.firms.indexOf(firm);
        await p.act(ctx(0));
        p.observe(outcome(0, k));
        // Nothing goes to the trainer until the round's training information has arrived.
        expect(host.batches.length).toBe(0);
        p.observeTraining(info(0));
        await p.settle();
        expect(host.batches.length).toBe(1);
        const b = host.batches[0]!;
        const peers = criticPeers(viewOf(id));
        const dA = (p as unknown as { dA: number }).dA;
        const S = b.data.length / B;
        for (let i = 0; i < B; i++)
          peers.forEach((f, j) => expect(b.data[i * S + 2 * dA + j]).toBeCloseTo(norm(JOINT[f * B + i] as number), 6));
        // Round 1's information never comes: the next act drops the row and counts it.
        await p.act(ctx(1));
        p.observe(outcome(1, k));
        p.observeTraining(info(0)); // a stale round completes nothing
        await p.act(ctx(2));
        await p.settle();
        expect(host.batches.length).toBe(1);
        expect(p.metrics().missingTrainingInfo).toBe(1);
      } finally {
        await p.close();
      }
    }
  }, 60_000);

  test("ctde - MADDPG transitions carry the peers' same-round quantities in the critic's columns", async () => {
    const host = new Capturing();
    const firm = exp.firms.find((f) => f.id === "b")!;
    const p = await DdpgPolicy.create(viewOf("b"), firm.policy as DdpgConfig, { ...learnerOptions(exp, firm), trainerHost: () => host });
    try {
      await p.act(ctx(0));
      p.observe(outcome(0, 1));
      expect(host.batches.length).toBe(0);
      p.observeTraining(info(0));
      await p.settle();
      expect(host.batches.length).toBe(1);
      const b = host.batches[0]!;
      const { dA, dC } = p as unknown as { dA: number; dC: number };
      expect(dC - dA).toBe(1);
      const stride = b.data.length / B;
      // [x, xc = (x, peer quantity), a, r, done, ...]: the peer is leader a (20, 40).
      for (let i = 0; i < B; i++) expect(b.data[i * stride + dA + dA]).toBeCloseTo(norm(JOINT[0 * B + i] as number), 6);
    } finally {
      await p.close();
    }
  }, 60_000);
});
