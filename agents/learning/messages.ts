/**
 * The contract between a firm's acting thread and its training worker: model specs, experience
 * layouts and the typed request/response messages. Experience and weights are flat Float32Arrays
 * so they move between threads without copies (piscina `move()`).
 */
import { move, transferableSymbol, valueSymbol } from "piscina";
import type { RngState } from "../../market/economics/rng.js";

/** PPO with a Gaussian policy on the quantity share a/quantityMax; the std is scheduled, not learned. */
export interface PpoSpec {
  algo: "ppo";
  /** Actor input width (normalized observation, plus committed total for followers). */
  actorIn: number;
  /** Critic input width (the actor's input, plus joint information for MAPPO). */
  criticIn: number;
  hidden: number[];
  learningRate: number;
  epochs: number;
  minibatch: number;
  clip: number;
  /** Discount and GAE lambda; with done = 1 on every sample (profit objective) they do not matter. */
  gamma: number;
  lambda: number;
  /**
   * Samples per round: the market instances the firm learns in (all B, or its share when the
   * schedule splits them); rows of experience are rounds of this many samples, one per instance
   * in a fixed order.
   */
  batch: number;
  seed: number;
}

/** DDPG: deterministic actor, Q critic on (critic input, action share), target nets, replay buffer. */
export interface DdpgSpec {
  algo: "ddpg";
  actorIn: number;
  criticIn: number;
  hidden: number[];
  learningRate: number;
  tau: number;
  bufferSize: number;
  minibatch: number;
  gamma: number;
  /** Gradient steps per update call. */
  stepsPerUpdate: number;
  seed: number;
}

export type TrainerSpec = PpoSpec | DdpgSpec;

/**
 * Values per experience row. PPO: a row is one round, spec.batch samples (one per instance the firm
 * learns in) of
 * [x(actorIn), xc(criticIn), action, meanAtSampling, reward, done, sigma]; actions, means and sigma
 * are shares of quantityMax, rewards are scaled profits. DDPG: a row is one transition
 * [x, xc, action, reward, done, x', xc'].
 */
export function rowStride(spec: TrainerSpec): number {
  return spec.algo === "ppo" ? spec.batch * (spec.actorIn + spec.criticIn + 5) : 2 * (spec.actorIn + spec.criticIn) + 3;
}

/** Experience rows in one flat array (rows * rowStride(spec) values). Batches concatenate. */
export interface ExperienceBatch {
  rows: number;
  data: Float32Array;
  /**
   * The firm's training progress in [0, 1] at the newest row; the trainer anneals its learning
   * rate linearly with it (to zero), which is what lets the policy settle precisely.
   */
  progress?: number;
  /**
   * The acting copy's weight version (updates installed) when the oldest row was acted on: the
   * Updater measures the policy lag from it. PPO's behaviour policy itself travels in the rows (the
   * acting copy's mean and sigma of every sample), not as a version.
   */
  behaviourVersion?: number;
}

/** Concatenates batches of the same spec (oldest first); the oldest behaviour version stands. */
export function concatBatches(batches: readonly ExperienceBatch[]): ExperienceBatch {
  if (batches.length === 1) return batches[0] as ExperienceBatch;
  let n = 0;
  let rows = 0;
  let version: number | undefined;
  for (const b of batches) {
    n += b.data.length;
    rows += b.rows;
    if (b.behaviourVersion !== undefined) version = Math.min(version ?? b.behaviourVersion, b.behaviourVersion);
  }
  const data = new Float32Array(n);
  const progress = batches[batches.length - 1]?.progress;
  let o = 0;
  for (const b of batches) {
    data.set(b.data, o);
    o += b.data.length;
  }
  return {
    rows,
    data,
    ...(progress === undefined ? {} : { progress }),
    ...(version === undefined ? {} : { behaviourVersion: version }),
  };
}

/** What one update did, measured inside the trainer. */
export interface TrainStats {
  samples: number;
  /** Wall time of the update inside the trainer. */
  ms: number;
  /** Policy loss (PPO surrogate or -Q for DDPG) of the last minibatch. */
  loss: number;
  valueLoss: number;
  /** Gradient steps taken by this update. */
  steps: number;
  /**
   * PPO: how far the trainer's policy had moved from the behaviour policy that produced the batch,
   * when the update started: mean |log pi_trainer(a) - log pi_behaviour(a)| over the samples, and
   * the share of samples whose ratio already lay outside the clip range. Zero with no policy lag.
   */
  staleLogRatio?: number;
  staleClipShare?: number;
}

/** Everything a trainer needs to resume (no optimizer moments: they rebuild quickly). */
export interface TrainerState {
  /** Every network's weights, flat, in the trainer's fixed order (actor first). */
  params: Float32Array;
  updates: number;
  rng: RngState;
}

export type WorkerRequest =
  | { type: "init"; spec: TrainerSpec; backend?: "auto" | "node" | "wasm" | "cpu" }
  | { type: "train"; batch: ExperienceBatch }
  | { type: "get-state" }
  | { type: "set-state"; state: TrainerState }
  | { type: "dispose" };

export type WorkerResponse =
  | { type: "ready"; backend: string; actor: Float32Array }
  | { type: "trained"; actor: Float32Array; stats: TrainStats }
  | { type: "state"; state: TrainerState }
  | { type: "weights"; actor: Float32Array }
  | { type: "disposed" };

/** The response type that answers each request type. */
export interface ResponseFor {
  init: Extract<WorkerResponse, { type: "ready" }>;
  train: Extract<WorkerResponse, { type: "trained" }>;
  "get-state": Extract<WorkerResponse, { type: "state" }>;
  "set-state": Extract<WorkerResponse, { type: "weights" }>;
  dispose: Extract<WorkerResponse, { type: "disposed" }>;
}

/** The buffers of a message that can move instead of being copied. */
export function transferablesOf(msg: WorkerRequest | WorkerResponse): ArrayBuffer[] {
  const bufs: ArrayBuffer[] = [];
  const add = (a: Float32Array) => {
    // A view on part of a larger buffer (or a shared one) must be copied, not moved.
    if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) bufs.push(a.buffer);
  };
  switch (msg.type) {
    case "train":
      add(msg.batch.data);
      break;
    case "set-state":
      add(msg.state.params);
      break;
    case "ready":
    case "trained":
    case "weights":
      add(msg.actor);
      break;
    case "state":
      add(msg.state.params);
      break;
    default:
      break;
  }
  return bufs;
}

/** A message plus the buffers to transfer with it: piscina's Transferable protocol. */
export class Envelope<M> {
  constructor(
    private readonly msg: M,
    private readonly buffers: ArrayBuffer[],
  ) {}
  get [transferableSymbol](): ArrayBuffer[] {
    return this.buffers;
  }
  get [valueSymbol](): M {
    return this.msg;
  }
}

/**
 * Marks a message for piscina to move its Float32Array buffers instead of cloning them
 * (`Piscina.move()`); piscina unwraps it, so the other side receives the plain message.
 * The sender must not touch those arrays afterwards.
 */
export function moveMessage<M extends WorkerRequest | WorkerResponse>(msg: M): Envelope<M> {
  return move(new Envelope(msg, transferablesOf(msg)) as never) as unknown as Envelope<M>;
}
