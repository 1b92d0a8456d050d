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

  test("checkpoints - q-learning round-trips its Q table", async () => {
    await roundTrip(
      { kind: "q-learning", epsilon: 0.5 },
      async (run, firm, exp) => new QLearningPolicy(run, firm.policy as QLearningConfig, learnerOptions(exp, firm)),
    );
  });

  test("checkpoints - hedge round-trips its weights", async () => {
    await roundTrip({ kind: "hedge" }, async (run, firm) => new HedgePolicy(run, firm.policy as HedgeConfig));
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
