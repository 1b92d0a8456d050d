/** save(dir) / load(dir): every learner's state goes to dir/<firmId>/ and comes back exactly. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type DdpgConfig, DdpgPolicy } from "../../../agents/policies/ddpg.js";
import { type HedgeConfig, HedgePolicy } from "../../../agents/policies/hedge.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import { type QLearningConfig, QLearningPolicy } from "../../../agents/policies/q-learning.js";
import type { ActContext, Policy } from "../../../agents/policy.js";
import { writeCheckpoint } from "../../../agents/learning/checkpoint.js";
import { Rng } from "../../../market/economics/rng.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { Harness, type MakePolicy, OBSERVATION_COLUMNS } from "./harness.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), "stk-cp-"));
  dirs.push(d);
  return d;
}

function input(policy: Record<string, unknown>): ExperimentInput {
  return {
    name: "cp",
    seed: 3,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, roundsPerEpisode: 1, episodes: 40, quantityMax: 100 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy },
    ],
    training: { objective: "profit", deterministic: true },
  } as ExperimentInput;
}

function probe(B: number, committed: number): ActContext {
  return {
    round: 0,
    episode: 0,
    step: 0,
    episodeEnd: true,
    phase: "evaluate",
    observation: new Float64Array(B * OBSERVATION_COLUMNS.length),
    committedTotal: Float64Array.from({ length: B }, (_, i) => (committed + i) % 100),
    committed: new Map([["leader", Float64Array.from({ length: B }, (_, i) => (committed + i) % 100)]]),
    ownLastQuantity: new Float64Array(B),
    ownMarginalCost: new Float64Array(B).fill(10),
  };
}

const greedy = async (p: Policy, c: number) => {
  p.onPhase?.({ name: "evaluate", round: 0, training: false, exploring: false });
  return Array.from(await p.act(probe(32, c)));
};

/** Trains a run a little, saves it, loads it into a fresh run and compares greedy actions. */
async function roundTrip(policy: Record<string, unknown>, make: MakePolicy): Promise<void> {
  const a = await Harness.create(input(policy), make);
  const b = await Harness.create(input(policy), make);
  const dir = await tmp();
  try {
    await a.play(30);
    for (const p of a.policies) await p.save?.(dir);
    expect((await readdir(dir)).sort()).toEqual(["follower", "leader"]);
    expect(await readdir(path.join(dir, "follower"))).toContain("policy.json");
    for (const p of b.policies) expect(await p.load?.(dir)).toBe(true);
    for (const id of ["leader", "follower"]) {
      const before = a.policy(id).metrics?.() ?? {};
      const after = b.policy(id).metrics?.() ?? {};
      expect(after.trainedRounds).toBe(before.trainedRounds);
      for (const c of [0, 40]) expect(await greedy(b.policy(id), c)).toEqual(await greedy(a.policy(id), c));
    }
    // A fresh policy differs from the trained one until it loads.
    const empty = await tmp();
    for (const p of b.policies) expect(await p.load?.(empty)).toBe(false);
  } finally {
    await a.close();
    await b.close();
  }
}

describe("checkpoints", () => {
  test("checkpoints - ppo (worker pool) round-trips weights, schedule position and counters", async () => {
    await roundTrip({ kind: "ppo" }, async (run, firm, exp) =>
      PpoPolicy.create(run, firm.policy as PpoConfig, learnerOptions(exp, firm)),
    );
  }, 60_000);

  test("checkpoints - mappo (inline) round-trips", async () => {
    await roundTrip({ kind: "mappo" }, async (run, firm, exp) =>
      PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
  }, 60_000);

  test("checkpoints - ddpg round-trips actor, critic and target networks", async () => {
    await roundTrip({ kind: "ddpg", minibatch: 32 }, async (run, firm, exp) =>
      DdpgPolicy.create(run, firm.policy as DdpgConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
  }, 60_000);

  test("checkpoints - q-learning round-trips its Q table and visit counts", async () => {
    await roundTrip(
      { kind: "q-learning", exploration: { kind: "epsilon-greedy", epsilon: 0.5, decay: 0.01 } },
      async (run, firm, exp) => new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm)),
    );
  });

  test("checkpoints - q-learning with one table per instance and one-period memory round-trips", async () => {
    await roundTrip(
      {
        kind: "q-learning",
        memory: 1,
        tablePerInstance: true,
        grid: { steps: 11 },
        exploration: { kind: "boltzmann", temperature: 0.2 },
      },
      async (run, firm, exp) => new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm)),
    );
  });

  test("checkpoints - hedge round-trips its weights and reaction table", async () => {
    await roundTrip({ kind: "hedge" }, async (run, firm) => new HedgePolicy(run, firm.policy as HedgeConfig));
  });

  test("checkpoints - a format-1 q-learning table (no version) loads into memory 1 with its grid, and is refused otherwise", async () => {
    const dir = await tmp();
    // Format 1: 3 grid points (0, 50, 100), state = last grid indices of both firms (sorted by id:
    // follower, leader), then the leader's committed quantity, in base K + 1 = 4.
    const key = (1 * 4 + 2) * 4 + 1;
    await writeCheckpoint(dir, "follower", {
      meta: { kind: "q-learning", steps: 3, dims: 3, trainedRounds: 7, rng: Rng.fromName(1, "x").snapshot() },
      blobs: { keys: Float64Array.of(key), values: Float64Array.of(0.1, 0.9, 0.2), last: new Float64Array(2 * 32).fill(3) },
    });
    const make = (policy: Record<string, unknown>) =>
      Harness.create(
        input(policy),
        async (run, firm, exp) => new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm)),
      );
    const ok = await make({ kind: "q-learning", memory: 1, grid: { steps: 3, max: 100 } });
    const f = ok.policy("follower") as QLearningPolicy;
    expect(await f.load(dir)).toBe(true);
    expect(f.metrics().trainedRounds).toBe(7);
    // Last round: follower 50, leader 100; committed 50 now.
    const last = ok.exp.firms.map((x) => (x.id === "leader" ? 100 : 50));
    expect(Array.from(f.qValues(50, last) as Float64Array)).toEqual([0.1, 0.9, 0.2]);
    expect(f.greedyQuantity(50, last)).toBe(50);
    const memoryless = await make({ kind: "q-learning", grid: { steps: 3, max: 100 } });
    await expect((memoryless.policy("follower") as QLearningPolicy).load(dir)).rejects.toThrow(/format-1 table.*memory: 1/);
  });

  test("checkpoints - loading a checkpoint of a different network shape fails with the firm named", async () => {
    const dir = await tmp();
    const a = await Harness.create(input({ kind: "ppo" }), async (run, firm, exp) =>
      PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
    const b = await Harness.create(input({ kind: "ppo", net: { hidden: [8] } }), async (run, firm, exp) =>
      PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
    try {
      await a.policy("leader").save?.(dir);
      await expect(b.policy("leader").load?.(dir)).rejects.toThrow(/leader/);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});
