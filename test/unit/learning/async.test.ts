/**
 * The default (asynchronous) training mode: double-buffered collection with a bounded policy lag,
 * backpressure instead of dropped experience, PPO's ratio against the behaviour policy recorded at
 * acting time, and a barrier at the end of a firm's training phase. The trainer here is slow by
 * construction, not by the clock: it answers a train request only after a few turns of the event
 * loop, while the in-process harness plays rounds without yielding to it.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { initBackend } from "../../../agents/learning/backend.js";
import { InlineHost, type TrainerHost } from "../../../agents/learning/host.js";
import type { ExperienceBatch, PpoSpec, ResponseFor, WorkerRequest } from "../../../agents/learning/messages.js";
import { Mlp } from "../../../agents/learning/mlp.js";
import { learnerOptions } from "../../../agents/learning/options.js";
import { Trainer } from "../../../agents/learning/trainer.js";
import { Updater } from "../../../agents/learning/updater.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import { Rng } from "../../../market/economics/rng.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import { Harness } from "./harness.js";
import { scenario } from "./stackelberg-run.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

/** What the slow trainer saw of one train request. */
interface TrainSeen {
  rows: number;
  /** Updates the trainer had made when the request reached it. */
  trainerVersion: number;
  behaviourVersion: number | undefined;
  /** Largest |stored behaviour mean - mean of the acting weights of that version| in the batch. */
  behaviourMeanError: number;
  /** Largest |stored behaviour mean - mean of the trainer's weights at that time|. */
  trainerMeanGap: number;
  staleLogRatio: number;
}

/**
 * An inline trainer that looks like a worker pool (so the Updater runs asynchronously) and answers
 * every train request only after `turns` event-loop turns. It keeps every weight version it sent
 * back, to check what the acting thread recorded against them.
 */
class SlowHost implements TrainerHost {
  readonly mode = "pool";
  readonly seen: TrainSeen[] = [];
  private readonly inner = new InlineHost();
  private readonly versions: Float32Array[] = [];
  private spec: PpoSpec | undefined;
  private busy = false;

  constructor(private readonly turns: number) {}

  async request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]> {
    if (req.type === "init") {
      this.spec = req.spec as PpoSpec;
      const res = (await this.inner.request(req)) as ResponseFor["init"];
      this.versions.push(res.actor.slice());
      return res as ResponseFor[R["type"]];
    }
    if (req.type !== "train") return this.inner.request(req);
    // The Updater hands over one update at a time.
    expect(this.busy).toBe(false);
    this.busy = true;
    const batch = (req as Extract<WorkerRequest, { type: "train" }>).batch;
    const spec = this.spec as PpoSpec;
    const trainerVersion = this.versions.length - 1;
    const v = batch.behaviourVersion;
    const seen: TrainSeen = {
      rows: batch.rows,
      trainerVersion,
      behaviourVersion: v,
      behaviourMeanError: v === undefined ? Number.NaN : meanGap(spec, batch, this.versions[v] as Float32Array),
      trainerMeanGap: meanGap(spec, batch, this.versions[trainerVersion] as Float32Array),
      staleLogRatio: 0,
    };
    for (let k = 0; k < this.turns; k++) await turn();
    const res = (await this.inner.request(req)) as ResponseFor["train"];
    seen.staleLogRatio = res.stats.staleLogRatio ?? Number.NaN;
    this.seen.push(seen);
    this.versions.push(res.actor.slice());
    this.busy = false;
    return res as ResponseFor[R["type"]];
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

/** Policy means (shares of quantityMax) of an actor with `weights` for inputs x (N x dA). */
function meansOf(spec: PpoSpec, weights: Float32Array, x: Float32Array, N: number): Float32Array {
  const m = new Mlp({ inputs: spec.actorIn, hidden: spec.hidden, outputs: 1 }, 0, false);
  m.setFlat(weights);
  const out = tf.tidy(() => tf.sigmoid(m.apply(tf.tensor2d(x, [N, spec.actorIn]))).dataSync() as Float32Array);
  m.dispose();
  return out;
}

/** Columns of a PPO batch: inputs, actions, behaviour means, sigmas. */
function columns(spec: PpoSpec, batch: ExperienceBatch) {
  const { actorIn: dA, criticIn: dC } = spec;
  const S = dA + dC + 5;
  const N = batch.data.length / S;
  const x = new Float32Array(N * dA);
  const a = new Float32Array(N);
  const m = new Float32Array(N);
  const sigma = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < dA; j++) x[n * dA + j] = batch.data[n * S + j] as number;
    a[n] = batch.data[n * S + dA + dC] as number;
    m[n] = batch.data[n * S + dA + dC + 1] as number;
    sigma[n] = batch.data[n * S + dA + dC + 4] as number;
  }
  return { N, x, a, m, sigma };
}

function meanGap(spec: PpoSpec, batch: ExperienceBatch, weights: Float32Array): number {
  const c = columns(spec, batch);
  const now = meansOf(spec, weights, c.x, c.N);
  let worst = 0;
  for (let n = 0; n < c.N; n++) worst = Math.max(worst, Math.abs((now[n] as number) - (c.m[n] as number)));
  return worst;
}

function simultaneous(seed: number, rounds: number, maxPolicyLag: number): ExperimentInput {
  const policy = { kind: "ppo", epochs: 2, minibatch: 32 };
  return {
    name: "async",
    seed,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, roundsPerEpisode: 1, episodes: rounds, quantityMax: 100 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy },
    ],
    training: { objective: "profit", maxPolicyLag },
  } as ExperimentInput;
}

async function playSlow(input: ExperimentInput, turns: number, onRound?: (h: Harness) => void) {
  const hosts = new Map<string, SlowHost>();
  const h = await Harness.create(input, async (run, firm, exp) => {
    const host = new SlowHost(turns);
    hosts.set(firm.id, host);
    return PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), trainerHost: () => host });
  });
  try {
    for (let r = 0; r < h.exp.market.totalRounds; r++) {
      await h.step();
      onRound?.(h);
    }
    for (const p of h.policies) await (p as PpoPolicy).settle();
    const metrics = new Map(h.exp.firms.map((f) => [f.id, h.policy(f.id).metrics?.() ?? {}]));
    return { hosts, metrics, B: h.exp.market.batch };
  } finally {
    await h.close();
  }
}

beforeAll(async () => {
  await initBackend();
});

describe("asynchronous training", () => {
  test("async - a slow trainer makes acting wait (counted) and every experience row is trained on", async () => {
    const rounds = 30;
    const { hosts, metrics, B } = await playSlow(simultaneous(3, rounds, 1), 3);
    let waits = 0;
    for (const id of ["leader", "follower"]) {
      const m = metrics.get(id) as Record<string, number>;
      const seen = (hosts.get(id) as SlowHost).seen;
      // Every round of experience reached the trainer: nothing dropped, nothing merged away.
      expect(m.droppedRows).toBe(0);
      expect(m.trainedRounds).toBe(rounds);
      expect(seen.reduce((n, s) => n + s.rows, 0)).toBe(rounds);
      expect(m.updates).toBe(rounds);
      expect(m.samples).toBe(rounds * B);
      expect(m.actWaitShare).toBeGreaterThanOrEqual(0);
      expect(m.actWaitShare).toBeLessThanOrEqual(1);
      if (m.actWaits > 0) expect(m.actWaitMs).toBeGreaterThan(0);
      waits += m.actWaits as number;
    }
    // The trainers fell behind, so acting waited, and the waits were counted. (While one firm
    // waits, the other's trainer catches up too: which firm waits is the harness's order.)
    expect(waits).toBeGreaterThan(rounds / 2);
  }, 60_000);

  for (const bound of [1, 2]) {
    test(`async - the policy lag never exceeds its bound (maxPolicyLag ${bound}) and reaches it under a slow trainer`, async () => {
      const { hosts, metrics } = await playSlow(simultaneous(4, 24, bound), 4);
      for (const id of ["leader", "follower"]) {
        const seen = (hosts.get(id) as SlowHost).seen;
        // Measured by the trainer itself: its updates minus the version that acted.
        const lags = seen.map((s) => s.trainerVersion - (s.behaviourVersion as number));
        expect(Math.max(...lags)).toBe(bound);
        expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
        expect(metrics.get(id)?.policyLagMax).toBe(bound);
      }
    }, 60_000);
  }

  test("async - PPO records the acting copy's behaviour policy, and the trainer corrects against it, not against its newer weights", async () => {
    const { hosts } = await playSlow(simultaneous(5, 12, 1), 3);
    for (const id of ["leader", "follower"]) {
      const seen = (hosts.get(id) as SlowHost).seen;
      for (const s of seen) {
        // The stored means are those of the weights that acted (version behaviourVersion)...
        expect(s.behaviourMeanError).toBeLessThan(1e-5);
        const lag = s.trainerVersion - (s.behaviourVersion as number);
        if (lag === 0) expect(s.staleLogRatio).toBeLessThan(1e-4);
      }
      // ...and where the trainer had moved on, they differ from its current policy: the first
      // epoch's ratios are against the stored behaviour, so they start away from 1.
      const lagged = seen.filter((s) => s.trainerVersion > (s.behaviourVersion as number));
      expect(lagged.length).toBeGreaterThan(5);
      for (const s of lagged) {
        expect(s.trainerMeanGap).toBeGreaterThan(1e-5);
        expect(s.staleLogRatio).toBeGreaterThan(0);
      }
    }
  }, 60_000);

  test("async - a firm whose training phase ends waits for its outstanding updates and plays the next phase with its final weights", async () => {
    const input = scenario({
      seed: 6,
      batch: 32,
      phaseRounds: 8,
      phases: 2,
      evaluateRounds: 0,
      policy: { epochs: 2, minibatch: 32 },
    });
    (input.training as { deterministic: boolean }).deterministic = false;
    const followerUpdates: number[] = [];
    const { hosts, metrics } = await playSlow(input, 4, (h) => {
      // After round r was played h.round is r + 1: rounds 8-15.
      if (h.round > 8) followerUpdates.push(h.policy("follower").metrics?.().updates ?? -1);
    });
    // The follower trained in rounds 0-7; from round 8 on (leader phase) it is frozen, and it
    // acted in round 8 only after all 8 of its updates were installed.
    expect((hosts.get("follower") as SlowHost).seen.length).toBe(8);
    expect(followerUpdates.length).toBe(8);
    for (const u of followerUpdates) expect(u).toBe(8);
    expect(metrics.get("follower")?.actWaits).toBeGreaterThan(0);
  }, 60_000);
});

describe("ppo ratio", () => {
  const spec: PpoSpec = {
    algo: "ppo",
    actorIn: 2,
    criticIn: 2,
    hidden: [8],
    learningRate: 3e-2,
    epochs: 2,
    minibatch: 32,
    clip: 0.2,
    gamma: 0,
    lambda: 0.95,
    batch: 64,
    seed: 3,
  };

  /** One round acted on with `weights` (the acting copy's), as PpoPolicy records it. */
  function round(weights: Float32Array, rng: Rng): ExperienceBatch {
    const S = spec.actorIn + spec.criticIn + 5;
    const N = spec.batch;
    const x = Float32Array.from({ length: N * spec.actorIn }, () => 2 * rng.next() - 1);
    const means = meansOf(spec, weights, x, N);
    const data = new Float32Array(N * S);
    for (let n = 0; n < N; n++) {
      const o = n * S;
      for (let j = 0; j < spec.actorIn; j++) data[o + j] = data[o + spec.actorIn + j] = x[n * spec.actorIn + j] as number;
      const m = means[n] as number;
      const a = m + 0.05 * rng.normal();
      data.set([a, m, -((a - 0.8) ** 2), 1, 0.05], o + 2 * spec.actorIn);
    }
    return { rows: 1, data };
  }

  /** Mean |log pi_w(a) - log pi_behaviour(a)| over a batch, from its stored behaviour columns. */
  function expectedLogRatio(weights: Float32Array, batch: ExperienceBatch): number {
    const c = columns(spec, batch);
    const now = meansOf(spec, weights, c.x, c.N);
    let s = 0;
    for (let n = 0; n < c.N; n++) {
      const a = c.a[n] as number;
      const sg = c.sigma[n] as number;
      s += Math.abs(((a - (c.m[n] as number)) ** 2 - (a - (now[n] as number)) ** 2) / (2 * sg * sg));
    }
    return s / c.N;
  }

  test("ppo ratio - when the weights changed between acting and training, the first epoch weighs samples by the stored behaviour log-probabilities", () => {
    const t = new Trainer(spec);
    const rng = new Rng(8);
    const w0 = t.actorWeights();
    // Two rounds acted on with the same (initial) weights: the second is trained one update late.
    const fresh = { ...round(w0, rng), behaviourVersion: 0 };
    const stale = { ...round(w0, rng), behaviourVersion: 0 };
    const first = t.train(fresh);
    expect(first.staleLogRatio).toBeLessThan(1e-4);
    const w1 = t.actorWeights();
    // log pi_trainer(a) - log pi_behaviour(a) from the batch's own columns: the trainer reports
    // exactly this at the start of the update, so it took the behaviour from the batch, not from
    // its own (newer) weights, which would give 0.
    const expected = expectedLogRatio(w1, stale);
    expect(expected).toBeGreaterThan(0.01);
    const copy = new Trainer(spec);
    copy.setState(t.getState());
    const second = t.train(stale);
    expect(second.staleLogRatio).toBeCloseTo(expected, 4);
    // The correction changes the update: the same samples taken as on-policy (no behaviour
    // version) give other weights.
    const { behaviourVersion: _, ...unlabelled } = stale;
    copy.train(unlabelled);
    const diff = Math.max(...Array.from(t.actorWeights(), (v, i) => Math.abs(v - (copy.actorWeights()[i] as number))));
    expect(diff).toBeGreaterThan(1e-6);
    t.dispose();
    copy.dispose();
  });

  test("ppo ratio - decoupled PPO is plain PPO when the behaviour policy is the trainer's own", () => {
    const a = new Trainer(spec);
    const b = new Trainer(spec);
    const rng = new Rng(2);
    const w0 = a.actorWeights();
    a.train({ ...round(w0, new Rng(1)), behaviourVersion: 0 });
    b.train({ ...round(w0, new Rng(1)), behaviourVersion: 0 });
    // Acted on with the weights both trainers have now, but labelled one update late for `a`:
    // importance weights of 1, the clip around the same policy, so (nearly) the same update.
    const batch = round(a.actorWeights(), rng);
    a.train({ rows: batch.rows, data: batch.data.slice(), behaviourVersion: 0 });
    b.train({ rows: batch.rows, data: batch.data.slice(), behaviourVersion: 1 });
    const wa = a.actorWeights();
    const wb = b.actorWeights();
    for (let i = 0; i < wa.length; i++) expect(wa[i]).toBeCloseTo(wb[i] as number, 5);
    a.dispose();
    b.dispose();
  });

  test("updater - never drops experience: buffers of one gap between acts join, and handing buffers over without acting fails loudly", async () => {
    const host = new InlineHost();
    const ready = await host.request({ type: "init", spec, backend: "auto" });
    const slow: TrainerHost = {
      mode: "pool",
      request: async (req) => {
        await turn();
        return host.request(req);
      },
      close: () => host.close(),
    };
    const u = new Updater({ host: slow, deterministic: false, maxPolicyLag: 1, apply: () => undefined, firmId: "f" });
    const rng = new Rng(1);
    // Acting between buffers: at most maxPolicyLag + 1 outstanding, then acting waits.
    for (let k = 0; k < 4; k++) {
      await u.gate();
      u.submit(round(ready.actor, rng));
    }
    expect(u.metrics().actWaits).toBeGreaterThan(0);
    // Two buffers in one gap between acts join into one update.
    await u.gate();
    u.submit(round(ready.actor, rng));
    u.submit(round(ready.actor, rng));
    await u.drain();
    // (Whether the first of the two was still queued, and so could take the second in, depends on
    // timing; the samples do not.)
    expect(u.metrics().updates).toBeGreaterThanOrEqual(5);
    expect(u.metrics().samples).toBe(6 * spec.batch);
    // Without acting in between (a caller bug), the cap fails loudly instead of dropping.
    u.submit(round(ready.actor, rng));
    await u.gate();
    u.submit(round(ready.actor, rng));
    expect(() => {
      for (let k = 0; k < 3; k++) {
        u.gate();
        u.submit(round(ready.actor, rng));
      }
    }).toThrow(/wait for the trainer/);
    await u.drain();
    expect(u.metrics().droppedRows).toBe(0);
    await host.close();
  });
});
