/**
 * The learning math, independent of threads: a Trainer holds the networks and optimizers of one
 * firm and turns experience batches into new actor weights. The piscina worker runs one; tests and
 * the `inline` option run one on the acting thread. Every random choice (initial weights,
 * minibatch order, replay sampling) comes from the spec's seed, so an update is a pure function of
 * the trainer's state and the batch.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../../market/economics/rng.js";
import type { DdpgSpec, ExperienceBatch, PpoSpec, TrainerSpec, TrainerState, TrainStats } from "./messages.js";
import { rowStride } from "./messages.js";
import { Mlp } from "./mlp.js";

/** Share of the learning rate left at the end of a firm's training. */
const FINAL_LR_SHARE = 0;

/** Cap on PPO's off-policy importance weights pi_prox / pi_behaviour (log scale: about 7.4). */
const MAX_LOG_WEIGHT = 2;

interface Core {
  readonly nets: Mlp[];
  readonly actor: Mlp;
  /** Scales the learning rates (1 = the spec's). */
  setLearningRateScale(scale: number): void;
  /** `lag`: updates this trainer made since the oldest behaviour weights of the batch. */
  train(batch: ExperienceBatch, rng: Rng, lag: number): Omit<TrainStats, "ms">;
  dispose(): void;
}

/** One firm's learner: networks, optimizers and the update rule of its algorithm. */
export class Trainer {
  private readonly core: Core;
  private rng: Rng;
  private updates = 0;

  /** The tfjs backend must be initialized first (see initBackend). */
  constructor(readonly spec: TrainerSpec) {
    validateSpec(spec);
    this.core = spec.algo === "ppo" ? new PpoCore(spec) : new DdpgCore(spec);
    this.rng = Rng.fromName(spec.seed, "trainer");
  }

  /** One update on a batch of experience; returns what it did. */
  train(batch: ExperienceBatch): TrainStats {
    const stride = rowStride(this.spec);
    if (batch.data.length !== batch.rows * stride)
      throw new RangeError(`experience: expected ${batch.rows} rows of ${stride} values, got ${batch.data.length} values`);
    const t0 = performance.now();
    const p = Math.min(Math.max(batch.progress ?? 0, 0), 1);
    this.core.setLearningRateScale(1 - (1 - FINAL_LR_SHARE) * p);
    // The batch's behaviour version counts updates of this trainer (the acting copy installs them
    // in order), so the difference is the policy lag; without one the batch is on-policy.
    const lag = Math.max(0, this.updates - (batch.behaviourVersion ?? this.updates));
    const s = this.core.train(batch, this.rng, lag);
    this.updates++;
    return { ...s, ms: performance.now() - t0 };
  }

  /** The acting network's weights (what the acting thread needs after an update). */
  actorWeights(): Float32Array {
    return this.core.actor.getFlat();
  }

  getState(): TrainerState {
    const size = this.core.nets.reduce((n, m) => n + m.size, 0);
    const params = new Float32Array(size);
    let o = 0;
    for (const m of this.core.nets) {
      m.getFlat(params, o);
      o += m.size;
    }
    return { params, updates: this.updates, rng: this.rng.snapshot() };
  }

  setState(state: TrainerState): void {
    const size = this.core.nets.reduce((n, m) => n + m.size, 0);
    if (state.params.length !== size)
      throw new RangeError(`trainer state: expected ${size} parameters, got ${state.params.length}`);
    let o = 0;
    for (const m of this.core.nets) {
      m.setFlat(state.params, o);
      o += m.size;
    }
    this.updates = state.updates;
    this.rng = Rng.restore(state.rng);
  }

  dispose(): void {
    this.core.dispose();
  }
}

function validateSpec(spec: TrainerSpec): void {
  const ints: Array<[string, number]> = [
    ["actorIn", spec.actorIn],
    ["criticIn", spec.criticIn],
    ["minibatch", spec.minibatch],
  ];
  if (spec.algo === "ppo") ints.push(["batch", spec.batch], ["epochs", spec.epochs]);
  else ints.push(["bufferSize", spec.bufferSize], ["stepsPerUpdate", spec.stepsPerUpdate]);
  for (const [k, v] of ints)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`trainer.${k} must be a positive integer (got ${v})`);
  if (!(spec.learningRate > 0)) throw new RangeError(`trainer.learningRate must be > 0 (got ${spec.learningRate})`);
}

/** Adam reads its (protected) rate at every step, so a schedule can change it in place. */
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/** Fisher-Yates shuffle of 0..n-1 with the trainer's Rng. */
function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// PPO

class PpoCore implements Core {
  readonly actor: Mlp;
  readonly critic: Mlp;
  readonly nets: Mlp[];
  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;

  constructor(private readonly spec: PpoSpec) {
    // A small output layer: a fresh policy's mean sits near quantityMax / 2 for every input.
    this.actor = new Mlp(
      { inputs: spec.actorIn, hidden: spec.hidden, outputs: 1, outputScale: 0.01 },
      deriveSeed(spec.seed, "actor"),
    );
    this.critic = new Mlp({ inputs: spec.criticIn, hidden: spec.hidden, outputs: 1 }, deriveSeed(spec.seed, "critic"));
    this.nets = [this.actor, this.critic];
    this.actorOpt = tf.train.adam(spec.learningRate);
    this.criticOpt = tf.train.adam(spec.learningRate);
  }

  setLearningRateScale(scale: number): void {
    setLearningRate(this.actorOpt, this.spec.learningRate * scale);
    setLearningRate(this.criticOpt, this.spec.learningRate * scale);
  }

  train(batch: ExperienceBatch, rng: Rng, lag: number): Omit<TrainStats, "ms"> {
    const { actorIn: dA, criticIn: dC, batch: B, gamma, lambda } = this.spec;
    const T = batch.rows;
    const N = T * B;
    const S = dA + dC + 5;
    const d = batch.data;
    const x = new Float32Array(N * dA);
    const xc = new Float32Array(N * dC);
    const act = new Float32Array(N);
    const mOld = new Float32Array(N);
    const rew = new Float32Array(N);
    const done = new Float32Array(N);
    const invVar = new Float32Array(N);
    // Plain index loops: a subarray per sample costs more than the copy itself at large B.
    for (let n = 0, o = 0; n < N; n++, o += S) {
      for (let j = 0; j < dA; j++) x[n * dA + j] = d[o + j] as number;
      for (let j = 0; j < dC; j++) xc[n * dC + j] = d[o + dA + j] as number;
      const k = o + dA + dC;
      act[n] = d[k] as number;
      mOld[n] = d[k + 1] as number;
      rew[n] = d[k + 2] as number;
      done[n] = d[k + 3] as number;
      const s = d[k + 4] as number;
      invVar[n] = 1 / (2 * s * s);
    }

    const tXc = tf.tensor2d(xc, [N, dC]);
    let values: Float32Array;
    try {
      values = tf.tidy(() => this.critic.apply(tXc).dataSync() as Float32Array);
    } catch (err) {
      tXc.dispose();
      throw err;
    }
    // GAE(lambda) per instance, backwards over the rounds. Rows are time-major (n = t * B + i, B the
    // samples per round: the instances the firm learns in, always in the same order).
    // A batch that stops mid-episode bootstraps from the last state's own value.
    const adv = new Float32Array(N);
    const ret = new Float32Array(N);
    for (let i = 0; i < B; i++) {
      let gae = 0;
      for (let t = T - 1; t >= 0; t--) {
        const n = t * B + i;
        const v = values[n] as number;
        const notDone = 1 - (done[n] as number);
        const nextV = t + 1 < T ? (values[n + B] as number) : v;
        const delta = (rew[n] as number) + gamma * notDone * nextV - v;
        gae = delta + gamma * lambda * notDone * gae;
        adv[n] = gae;
        ret[n] = gae + v;
      }
    }
    let mean = 0;
    for (let n = 0; n < N; n++) mean += adv[n] as number;
    mean /= N;
    let v2 = 0;
    for (let n = 0; n < N; n++) v2 += ((adv[n] as number) - mean) ** 2;
    const sd = Math.sqrt(v2 / N) + 1e-8;
    for (let n = 0; n < N; n++) adv[n] = ((adv[n] as number) - mean) / sd;

    const tX = tf.tensor2d(x, [N, dA]);
    const tA = tf.tensor1d(act);
    const tM = tf.tensor1d(mOld);
    const tAdv = tf.tensor1d(adv);
    const tRet = tf.tensor1d(ret);
    const tInvVar = tf.tensor1d(invVar);
    const owned: tf.Tensor[] = [tX, tXc, tA, tM, tAdv, tRet, tInvVar];
    const mb = Math.min(this.spec.minibatch, N);
    const clip = this.spec.clip;
    const epochs = this.spec.epochs;
    /** log pi_m(a) - log pi_m0(a) for Gaussians of the same sigma (iv = 1 / (2 sigma^2)). */
    const logRatio = (m: tf.Tensor, a: tf.Tensor, m0: tf.Tensor, iv: tf.Tensor) =>
      tf.mul(tf.sub(tf.square(tf.sub(a, m0)), tf.square(tf.sub(a, m))), iv);
    let loss = 0;
    let valueLoss = 0;
    let steps = 0;
    try {
      // The behaviour policy is what the acting copy recorded when it acted (mean and sigma of
      // every sample), never recomputed here. With no policy lag it is also the trainer's policy
      // now, and this is plain PPO: the ratio pi_theta / pi_behaviour, clipped. With a lag the
      // trainer's policy at the start of this update (the proximal policy) has moved on from it,
      // and the objective is decoupled PPO (Hilton et al. 2021, "Batch size-invariance for policy
      // optimization"): each sample weighted by pi_prox / pi_behaviour (the off-policy
      // correction, from the recorded log-probabilities) and the clip taken around pi_prox. The
      // plain ratio against a stale behaviour policy would have the clip cut the gradient of every
      // sample the last update already moved past (|log ratio| reaches 0.5 at the start of an
      // update in the PPO duopoly), which measurably biased what the firms learned.
      const mProx = tf.tidy(() => tf.sigmoid(this.actor.apply(tX)).reshape([-1]));
      owned.push(mProx);
      const logW = tf.tidy(() => logRatio(mProx, tA, tM, tInvVar));
      owned.push(logW);
      const [staleLogRatio, staleClipShare] = tf.tidy(() => {
        const out = tf
          .abs(tf.sub(tf.exp(tf.clipByValue(logW, -20, 20)), 1))
          .greater(clip)
          .cast("float32")
          .mean();
        return [tf.mean(tf.abs(logW)).dataSync()[0] as number, out.dataSync()[0] as number];
      });
      const decoupled = lag > 0;
      // Importance weights, capped so that one unlikely sample cannot dominate a minibatch.
      const tW = decoupled ? tf.tidy(() => tf.exp(tf.clipByValue(logW, -20, MAX_LOG_WEIGHT))) : undefined;
      if (tW) owned.push(tW);
      const lastStart = Math.floor(N / mb) * mb - mb;
      for (let e = 0; e < epochs; e++) {
        const perm = permutation(N, rng);
        // Whole minibatches only; the remainder is covered by the next epoch's shuffle.
        for (let start = 0; start + mb <= N; start += mb) {
          const idxArr = perm.subarray(start, start + mb);
          // Losses are read back once, after the last step (a read is a sync with the backend).
          const last = e === epochs - 1 && start === lastStart;
          tf.tidy(() => {
            const idx = tf.tensor1d(idxArr, "int32");
            const xb = tf.gather(tX, idx);
            const ab = tf.gather(tA, idx);
            const m0 = tf.gather(decoupled ? mProx : tM, idx);
            const advb = tf.gather(tAdv, idx);
            const ivb = tf.gather(tInvVar, idx);
            const wb = tW ? tf.gather(tW, idx) : undefined;
            const pl = this.actorOpt.minimize(
              () => {
                const m = tf.sigmoid(this.actor.apply(xb)).reshape([-1]);
                const ratio = tf.exp(tf.clipByValue(logRatio(m, ab, m0, ivb), -20, 20));
                const surr = tf.minimum(tf.mul(ratio, advb), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advb));
                return tf.neg(tf.mean(wb ? tf.mul(wb, surr) : surr)) as tf.Scalar;
              },
              last,
              this.actor.vars,
            );
            const xcb = tf.gather(tXc, idx);
            const rb = tf.gather(tRet, idx);
            const vl = this.criticOpt.minimize(
              () => tf.mean(tf.square(tf.sub(this.critic.apply(xcb).reshape([-1]), rb))) as tf.Scalar,
              last,
              this.critic.vars,
            );
            if (last) {
              loss = (pl?.dataSync()[0] as number) ?? 0;
              valueLoss = (vl?.dataSync()[0] as number) ?? 0;
            }
          });
          steps++;
        }
      }
      return { samples: N, loss, valueLoss, steps, staleLogRatio, staleClipShare };
    } finally {
      tf.dispose(owned);
    }
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// DDPG

/**
 * The critic must lead the actor, or the actor follows the slope of a critic that has not yet
 * fitted the region it is heading into (and overshoots): the critic learns 4x faster and the actor
 * updates on every second critic step (TD3's delayed policy updates).
 */
const DDPG_ACTOR_LR = 0.5;
const DDPG_CRITIC_LR = 2;
const DDPG_ACTOR_EVERY = 2;

class DdpgCore implements Core {
  readonly actor: Mlp;
  readonly critic: Mlp;
  readonly actorTarget: Mlp;
  readonly criticTarget: Mlp;
  readonly nets: Mlp[];
  private readonly actorOpt: tf.Optimizer;
  private readonly criticOpt: tf.Optimizer;
  private readonly buffer: Float32Array;
  private readonly stride: number;
  private size = 0;
  private next = 0;
  private criticSteps = 0;

  constructor(private readonly spec: DdpgSpec) {
    const aShape = { inputs: spec.actorIn, hidden: spec.hidden, outputs: 1, outputScale: 0.01 };
    const cShape = { inputs: spec.criticIn + 1, hidden: spec.hidden, outputs: 1 };
    this.actor = new Mlp(aShape, deriveSeed(spec.seed, "actor"));
    this.critic = new Mlp(cShape, deriveSeed(spec.seed, "critic"));
    this.actorTarget = new Mlp(aShape, deriveSeed(spec.seed, "actor"), false);
    this.criticTarget = new Mlp(cShape, deriveSeed(spec.seed, "critic"), false);
    this.nets = [this.actor, this.critic, this.actorTarget, this.criticTarget];
    this.actorOpt = tf.train.adam(spec.learningRate * DDPG_ACTOR_LR);
    this.criticOpt = tf.train.adam(spec.learningRate * DDPG_CRITIC_LR);
    this.stride = rowStride(spec);
    this.buffer = new Float32Array(spec.bufferSize * this.stride);
  }

  setLearningRateScale(scale: number): void {
    setLearningRate(this.actorOpt, this.spec.learningRate * DDPG_ACTOR_LR * scale);
    setLearningRate(this.criticOpt, this.spec.learningRate * DDPG_CRITIC_LR * scale);
  }

  train(batch: ExperienceBatch, rng: Rng): Omit<TrainStats, "ms"> {
    const { stride, spec } = this;
    // Ring buffer: the newest bufferSize transitions.
    for (let r = 0; r < batch.rows; r++) {
      this.buffer.set(batch.data.subarray(r * stride, (r + 1) * stride), this.next * stride);
      this.next = (this.next + 1) % spec.bufferSize;
      this.size = Math.min(this.size + 1, spec.bufferSize);
    }
    const mb = spec.minibatch;
    if (this.size < Math.min(mb, spec.bufferSize)) return { samples: 0, loss: 0, valueLoss: 0, steps: 0 };
    const n = Math.min(mb, this.size);
    const { actorIn: dA, criticIn: dC, gamma } = spec;
    const x = new Float32Array(n * dA);
    const xc = new Float32Array(n * dC);
    const a = new Float32Array(n);
    const r = new Float32Array(n);
    const done = new Float32Array(n);
    const x2 = new Float32Array(n * dA);
    const xc2 = new Float32Array(n * dC);
    let loss = 0;
    let valueLoss = 0;
    for (let step = 0; step < spec.stepsPerUpdate; step++) {
      let allDone = true;
      for (let k = 0; k < n; k++) {
        const o = rng.int(this.size) * stride;
        const b = this.buffer;
        x.set(b.subarray(o, o + dA), k * dA);
        xc.set(b.subarray(o + dA, o + dA + dC), k * dC);
        a[k] = b[o + dA + dC] as number;
        r[k] = b[o + dA + dC + 1] as number;
        done[k] = b[o + dA + dC + 2] as number;
        if (done[k] !== 1) allDone = false;
        const o2 = o + dA + dC + 3;
        x2.set(b.subarray(o2, o2 + dA), k * dA);
        xc2.set(b.subarray(o2 + dA, o2 + dA + dC), k * dC);
      }
      tf.tidy(() => {
        const tx = tf.tensor2d(x, [n, dA]);
        const txc = tf.tensor2d(xc, [n, dC]);
        let y: tf.Tensor1D = tf.tensor1d(r);
        if (!allDone) {
          // Bootstrapped target from the target nets: r + gamma (1 - done) Q'(s', mu'(s')).
          const tx2 = tf.tensor2d(x2, [n, dA]);
          const txc2 = tf.tensor2d(xc2, [n, dC]);
          const a2 = tf.sigmoid(this.actorTarget.apply(tx2));
          const q2 = this.criticTarget.apply(tf.concat([txc2, tf.sub(tf.mul(a2, 2), 1) as tf.Tensor2D], 1)).reshape([-1]);
          y = tf.add(y, tf.mul(tf.mul(q2, tf.sub(1, tf.tensor1d(done))), gamma)) as tf.Tensor1D;
        }
        const ta = tf.tensor2d(a, [n, 1]);
        const cin = tf.concat([txc, tf.sub(tf.mul(ta, 2), 1) as tf.Tensor2D], 1);
        const vl = this.criticOpt.minimize(
          () => tf.mean(tf.square(tf.sub(this.critic.apply(cin).reshape([-1]), y))) as tf.Scalar,
          true,
          this.critic.vars,
        );
        valueLoss = (vl?.dataSync()[0] as number) ?? 0;
        // The count persists across updates, so one step per update still trains the actor.
        if (++this.criticSteps % DDPG_ACTOR_EVERY === 0) {
          const pl = this.actorOpt.minimize(
            () => {
              const mu = tf.sigmoid(this.actor.apply(tx));
              const q = this.critic.apply(tf.concat([txc, tf.sub(tf.mul(mu, 2), 1) as tf.Tensor2D], 1));
              return tf.neg(tf.mean(q)) as tf.Scalar;
            },
            true,
            this.actor.vars,
          );
          loss = (pl?.dataSync()[0] as number) ?? 0;
        }
      });
      this.actorTarget.blendFrom(this.actor, spec.tau);
      this.criticTarget.blendFrom(this.critic, spec.tau);
    }
    return { samples: n * spec.stepsPerUpdate, loss, valueLoss, steps: spec.stepsPerUpdate };
  }

  dispose(): void {
    for (const m of this.nets) m.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
  }
}
