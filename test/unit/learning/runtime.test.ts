/**
 * The learners behind the real firm runtime and market service (in-memory bus, training in piscina
 * workers): a run completes with every firm on time, and in deterministic mode the same seed gives
 * the same cleared quantities, whatever the timing of the workers.
 */
import { describe, expect, test } from "vitest";
import type { ClearedRound } from "../../../market/service/index.js";
import type { FirmRuntime } from "../../../agents/index.js";
import { MemoryBus, runSubjects } from "../../../services/bus/index.js";
import { type Experiment, parseExperiment } from "../../../services/config/index.js";
import { playInProcess } from "../../fixtures/play.js";

const play = (exp: Experiment, runId: string) => playInProcess(new MemoryBus(), exp, runId);

const quantities = (rounds: ClearedRound[]) => rounds.map((r) => Array.from(r.outcome.quantities as unknown as Float64Array));

describe("learners in the firm runtime", () => {
  test("runtime - deterministic PPO firms over the bus repeat the same run for the same seed", async () => {
    const exp = parseExperiment({
      name: "ppo-bus",
      seed: 8,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, episodes: 50, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo", horizon: 2 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo", horizon: 2 } },
      ],
      training: { deterministic: true, schedule: { kind: "alternating", phaseRounds: 20, evaluateRounds: 10 } },
    });
    const a = await play(exp, "a");
    const b = await play(exp, "b");
    expect(a.length).toBe(50);
    for (const r of a) expect(Array.from(r.outcome.absent ?? [])).toEqual([false, false]);
    expect(quantities(b)).toEqual(quantities(a));
    // Evaluation rounds are greedy: the leader plays one quantity in every instance.
    const last = quantities(a).at(-1)!;
    const leaderIdx = exp.firms.findIndex((f) => f.id === "leader");
    expect(new Set(last.slice(leaderIdx * 32, (leaderIdx + 1) * 32)).size).toBe(1);
  }, 60_000);

  test("runtime - DDPG, Hedge and Q-learning firms play a run together in the default (asynchronous) mode", async () => {
    const exp = parseExperiment({
      name: "mixed-bus",
      seed: 9,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 16, episodes: 40, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ddpg", minibatch: 32 } },
        { id: "hedger", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "hedge" } },
        { id: "qlearner", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "q-learning" } },
      ],
    });
    const rounds = await play(exp, "mixed");
    expect(rounds.length).toBe(40);
    for (const r of rounds) expect(Array.from(r.outcome.absent ?? [])).toEqual([false, false, false]);
  }, 60_000);

  test("runtime - MAPPO and MADDPG critics learn from the market's training subject; an evaluation run publishes none", async () => {
    const base = {
      seed: 4,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 8, episodes: 30, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "maddpg", minibatch: 16 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "mappo", horizon: 2 } },
      ],
    } as const;
    const metricsOf = (firms: FirmRuntime[]) =>
      Object.fromEntries(firms.map((f) => [f.run.firmId, f.currentPolicy.metrics?.() ?? {}]));
    const bus = new MemoryBus();
    const seen: string[] = [];
    bus.subscribe(runSubjects("ctde").train, () => seen.push("ctde"));
    let trained: Record<string, Record<string, number>> = {};
    await playInProcess(bus, parseExperiment({ name: "ctde", ...base, training: { deterministic: true } }), "ctde", {}, undefined, (f) => {
      trained = metricsOf(f);
    });
    // Every round's training information arrived and completed a row / transition: nothing missing,
    // and both trainers got samples.
    expect(seen.filter((s) => s === "ctde").length).toBe(30);
    for (const id of ["leader", "follower"]) {
      expect(trained[id]?.missingTrainingInfo).toBe(0);
      expect(trained[id]?.samples).toBeGreaterThan(0);
    }
    // The same firms under decentralized execution: no training subject at all, nothing trained.
    let evaluated: Record<string, Record<string, number>> = {};
    const evalBus = new MemoryBus();
    evalBus.subscribe(runSubjects("eval").train, () => seen.push("eval"));
    const rounds = await playInProcess(evalBus, parseExperiment({ name: "eval", ...base, training: { schedule: { kind: "evaluation" } } }), "eval", {}, undefined, (f) => {
      evaluated = metricsOf(f);
    });
    expect(rounds.length).toBe(30);
    expect(seen.filter((s) => s === "eval").length).toBe(0);
    for (const id of ["leader", "follower"]) expect(evaluated[id]?.samples).toBe(0);
  }, 60_000);
});
