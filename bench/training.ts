/**
 * Training throughput at large B: a firm's PPO learner through its real path (acting thread ->
 * Updater -> piscina worker -> Trainer -> weights back into the acting copy) against raw
 * TensorFlow.js on the same backend, network, minibatch and epochs in the same process, measured in
 * alternating pairs. `measureTraining()` gives the figures of the BENCHMARKS.md section (bench/main.ts
 * adds runs of `stackelberg run` beside them); run this file alone (`node dist/bench/training.js`) to
 * print just these figures as JSON.
 *
 * The raw baseline is what a plain TF.js PPO loop reaches: the experience already in tensors,
 * advantages and returns given, per minibatch a gather and one Adam step each for the actor (clipped
 * surrogate) and the critic (squared error). The learner's figure counts everything the framework
 * does around that: moving the experience to the worker, unpacking it, the critic's pass for GAE,
 * the off-policy weights (policy lag 1, as in a run), the same gradient steps, and the new weights
 * back and installed in the acting network.
 */
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../agents/learning/backend.js";
import type { ExperienceBatch, PpoSpec } from "../agents/learning/messages.js";
import { Mlp } from "../agents/learning/mlp.js";
import { TrainingPool } from "../agents/learning/pool.js";
import { Updater } from "../agents/learning/updater.js";
import { Rng } from "../market/economics/rng.js";

/** The PPO learner of a follower in the duopoly experiments (default hyperparameters) at batch B. */
export function benchSpec(B: number): PpoSpec {
  return {
    algo: "ppo",
    actorIn: 5,
    criticIn: 5,
    hidden: [32, 32],
    learningRate: 3e-3,
    epochs: 4,
    minibatch: 256,
    clip: 0.2,
    gamma: 0,
    lambda: 0.95,
    batch: B,
    seed: 1,
  };
}

/** One round of experience in the layout PpoPolicy sends: B samples of [x, xc, a, m, r, done, sigma]. */
export function syntheticRound(spec: PpoSpec, rng: Rng): ExperienceBatch {
  const { actorIn: dA, criticIn: dC, batch: B } = spec;
  const S = dA + dC + 5;
  const data = new Float32Array(B * S);
  for (let i = 0; i < B; i++) {
    const o = i * S;
    for (let j = 0; j < dA; j++) data[o + j] = data[o + dA + j] = 2 * rng.next() - 1;
    const m = 0.3 + 0.4 * rng.next();
    const a = m + 0.1 * rng.normal();
    data[o + dA + dC] = a;
    data[o + dA + dC + 1] = m;
    data[o + dA + dC + 2] = a * (0.9 - a);
    data[o + dA + dC + 3] = 1;
    data[o + dA + dC + 4] = 0.1;
  }
  return { rows: 1, data, progress: 0 };
}

/**
 * Raw TF.js: the same two MLPs (tanh hidden layers, linear head), Adam, the same minibatches and
 * epochs, on the calling thread. update() runs one update on B samples and returns its seconds.
 */
export class RawPpo {
  private readonly actor: Mlp;
  private readonly critic: Mlp;
  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;
  private readonly rng = new Rng(7);
  private readonly host: Record<"x" | "xc" | "a" | "m" | "adv" | "ret" | "iv", Float32Array>;

  constructor(private readonly spec: PpoSpec) {
    const { actorIn: dA, criticIn: dC, batch: N } = spec;
    this.actor = new Mlp({ inputs: dA, hidden: spec.hidden, outputs: 1 }, 1);
    this.critic = new Mlp({ inputs: dC, hidden: spec.hidden, outputs: 1 }, 2);
    this.actorOpt = tf.train.adam(spec.learningRate);
    this.criticOpt = tf.train.adam(spec.learningRate);
    const cols = (k: number) => Float32Array.from({ length: N * k }, () => 2 * this.rng.next() - 1);
    this.host = {
      x: cols(dA),
      xc: cols(dC),
      a: cols(1),
      m: cols(1),
      adv: cols(1),
      ret: cols(1),
      iv: new Float32Array(N).fill(50),
    };
  }

  update(): number {
    const { actorIn: dA, criticIn: dC, batch: N, minibatch: mb, epochs, clip } = this.spec;
    const { actor, critic, actorOpt, criticOpt, host, rng } = this;
    const t0 = performance.now();
    const tX = tf.tensor2d(host.x, [N, dA]);
    const tXc = tf.tensor2d(host.xc, [N, dC]);
    const [tA, tM, tAdv, tRet, tIv] = [host.a, host.m, host.adv, host.ret, host.iv].map((v) => tf.tensor1d(v)) as tf.Tensor1D[];
    const perm = new Int32Array(N);
    for (let e = 0; e < epochs; e++) {
      for (let i = 0; i < N; i++) perm[i] = i;
      for (let i = N - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
      }
      for (let s = 0; s + mb <= N; s += mb) {
        tf.tidy(() => {
          const idx = tf.tensor1d(perm.subarray(s, s + mb), "int32");
          const xb = tf.gather(tX, idx);
          const ab = tf.gather(tA as tf.Tensor1D, idx);
          const m0 = tf.gather(tM as tf.Tensor1D, idx);
          const advb = tf.gather(tAdv as tf.Tensor1D, idx);
          const ivb = tf.gather(tIv as tf.Tensor1D, idx);
          actorOpt.minimize(
            () => {
              const m = tf.sigmoid(actor.apply(xb)).reshape([-1]);
              const ratio = tf.exp(tf.mul(tf.sub(tf.square(tf.sub(ab, m0)), tf.square(tf.sub(ab, m))), ivb));
              const surr = tf.minimum(tf.mul(ratio, advb), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advb));
              return tf.neg(tf.mean(surr)) as tf.Scalar;
            },
            false,
            actor.vars,
          );
          const xcb = tf.gather(tXc, idx);
          const rb = tf.gather(tRet as tf.Tensor1D, idx);
          criticOpt.minimize(
            () => tf.mean(tf.square(tf.sub(critic.apply(xcb).reshape([-1]), rb))) as tf.Scalar,
            false,
            critic.vars,
          );
        });
      }
    }
    tf.dispose([tX, tXc, tA, tM, tAdv, tRet, tIv] as tf.Tensor[]);
    // The WASM backend runs kernels synchronously; a read makes sure of it on any backend.
    actor.vars[0]?.dataSync();
    return (performance.now() - t0) / 1000;
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
  }
}

/**
 * The learner's path: an Updater in front of a one-thread TrainingPool, as a PpoPolicy uses them
 * (default mode, policy lag 1), rounds of experience submitted through the act gate and every
 * update's weights installed in an acting network on this thread. run(k) times k updates from the
 * first submission to the last weights installed.
 */
export class LearnerPath {
  private readonly pool = new TrainingPool({ firmId: "bench" });
  private readonly acting: Mlp;
  private updater!: Updater;
  private readonly rng = new Rng(9);

  private constructor(private readonly spec: PpoSpec) {
    this.acting = new Mlp({ inputs: spec.actorIn, hidden: spec.hidden, outputs: 1 }, 0, false);
  }

  static async create(spec: PpoSpec): Promise<LearnerPath> {
    const p = new LearnerPath(spec);
    const ready = await p.pool.request({ type: "init", spec, backend: "wasm" });
    p.acting.setFlat(ready.actor);
    p.updater = new Updater({ host: p.pool, deterministic: false, maxPolicyLag: 1, apply: (w) => p.acting.setFlat(w) });
    return p;
  }

  /** Seconds from the first submission to the last weights installed, and seconds inside the trainer. */
  async run(updates: number): Promise<{ seconds: number; trainerSeconds: number }> {
    const before = this.updater.metrics().trainMs;
    // The rounds are built beforehand: acting's own cost is not the trainer's.
    const rounds = Array.from({ length: updates }, () => syntheticRound(this.spec, this.rng));
    const t0 = performance.now();
    for (const r of rounds) {
      // What act() does first: wait while the trainer is more than the allowed lag behind.
      const wait = this.updater.gate();
      if (wait !== undefined) await wait;
      // As a policy records it: the weights acting had. With the trainer one update ahead (lag 1)
      // the trainer takes PPO's off-policy path, as it does in a run.
      r.behaviourVersion = this.updater.version;
      this.updater.submit(r);
    }
    await this.updater.drain();
    return { seconds: (performance.now() - t0) / 1000, trainerSeconds: (this.updater.metrics().trainMs - before) / 1000 };
  }

  async close(): Promise<void> {
    this.acting.dispose();
    await this.pool.close();
  }
}

/** Median of xs. */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export interface TrainingBench {
  B: number;
  /** Medians over the pairs, samples/s. */
  raw: number;
  learner: number;
  /** The learner's updates timed inside the trainer only (the worker's update time), median. */
  trainer: number;
  /** Median of the pairs' learner/raw ratios. */
  ratio: number;
  pairs: number;
  /** Gradient steps (actor + critic) per second of the raw baseline. */
  rawSteps: number;
}

/**
 * `pairs` alternating measurements at batch B, each `updates` updates of raw TF.js then as many
 * through the learner's path (one untimed warm-up update each first). This machine's speed drifts
 * with other load, so the ratio is taken within each pair and its median reported.
 */
export async function measureTraining(B: number, updates: number, pairs: number): Promise<TrainingBench> {
  await initBackend(undefined, "wasm");
  const spec = benchSpec(B);
  const raw = new RawPpo(spec);
  const path = await LearnerPath.create(spec);
  try {
    raw.update();
    await path.run(1);
    const r: number[] = [];
    const l: number[] = [];
    const t: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let s = 0;
      for (let u = 0; u < updates; u++) s += raw.update();
      r.push((updates * B) / s);
      const p = await path.run(updates);
      l.push((updates * B) / p.seconds);
      t.push((updates * B) / p.trainerSeconds);
    }
    const steps = spec.epochs * Math.floor(B / spec.minibatch);
    return {
      B,
      raw: median(r),
      learner: median(l),
      trainer: median(t),
      ratio: median(l.map((x, i) => x / (r[i] as number))),
      pairs,
      rawSteps: (median(r) / B) * steps,
    };
  } finally {
    raw.dispose();
    await path.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const B = Number(process.env.BENCH_TRAIN_B ?? 4096);
  const r = await measureTraining(B, Number(process.env.BENCH_TRAIN_UPDATES ?? 2), Number(process.env.BENCH_TRAIN_PAIRS ?? 9));
  console.log(JSON.stringify(r, null, 2));
}
