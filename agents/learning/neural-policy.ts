/**
 * What the tfjs learners share: an acting copy of the actor on the firm's main thread (one batched
 * forward pass per round), a trainer in a piscina worker (or inline), the phase rules (exploring:
 * uniform actions, no learning; not training: greedy, no learning), checkpoints and metrics.
 */
import * as tf from "@tensorflow/tfjs";
import type { Logger } from "pino";
import { Rng, type RngState } from "../../market/economics/rng.js";
import { ConfigError, RuntimeFailure } from "../../services/errors.js";
import type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "../policy.js";
import { initBackend } from "./backend.js";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { Features } from "./features.js";
import { InlineHost, type TrainerHost } from "./host.js";
import type { ExperienceBatch, TrainerSpec } from "./messages.js";
import { Mlp } from "./mlp.js";
import type { LearnerOptions } from "./options.js";
import { TrainingPool } from "./pool.js";
import { Updater } from "./updater.js";

/** Checkpoint metadata of a tfjs learner. */
export interface NeuralMeta {
  kind: string;
  spec: TrainerSpec;
  trainedRounds: number;
  trainerUpdates: number;
  trainerRng: RngState;
  exploreRng: RngState;
}

export abstract class NeuralPolicy implements Policy {
  abstract readonly kind: string;
  /** Market instances per round. */
  protected readonly B: number;
  protected readonly features: Features;
  /** Exploration noise and uniform exploration, seeded per firm from the run seed. */
  protected rng: Rng;
  protected readonly log: Logger | undefined;
  protected training = true;
  protected exploring = false;
  /** Exploration window in this phase, as a share of quantityMax around the greedy quantity. */
  private exploreWidth = 1;
  /** Rounds this firm has learned from (drives the exploration schedule). */
  protected trainedRounds = 0;
  /** Name of the tfjs backend on the acting thread. */
  backend = "";
  private acting: Mlp | undefined;
  private host: TrainerHost | undefined;
  private updater: Updater | undefined;
  private spec: TrainerSpec | undefined;

  protected constructor(
    protected readonly run: RunView,
    protected readonly opts: LearnerOptions,
  ) {
    if (!Number.isInteger(run.batch) || run.batch < 1)
      throw new RangeError(`run.batch must be a positive integer (got ${run.batch})`);
    if (!(run.quantityMax > 0)) throw new RangeError(`run.quantityMax must be > 0 (got ${run.quantityMax})`);
    if (!(opts.trainingRounds >= 1)) throw new RangeError(`trainingRounds must be >= 1 (got ${opts.trainingRounds})`);
    this.B = run.batch;
    this.features = new Features(run);
    this.rng = Rng.fromName(run.seed, `explore:${run.firmId}`);
    this.log = opts.logger?.child({ component: "learner", firmId: run.firmId });
  }

  /** Initializes the backend, the trainer (worker or inline) and the acting copy of the actor. */
  protected async start(spec: TrainerSpec): Promise<void> {
    this.spec = spec;
    this.backend = await initBackend(this.log, this.opts.backend);
    const host: TrainerHost = this.opts.trainerHost
      ? this.opts.trainerHost()
      : this.opts.inline
        ? new InlineHost()
        : new TrainingPool({
            firmId: this.run.firmId,
            ...(this.log ? { logger: this.log } : {}),
            ...(this.opts.workerFile ? { filename: this.opts.workerFile } : {}),
          });
    this.host = host;
    let trainerBackend: string;
    try {
      const res = await host.request({ type: "init", spec, ...(this.opts.backend ? { backend: this.opts.backend } : {}) });
      trainerBackend = res.backend;
      const acting = new Mlp({ inputs: spec.actorIn, hidden: spec.hidden, outputs: 1 }, 0, false);
      acting.setFlat(res.actor);
      this.acting = acting;
    } catch (err) {
      await host.close();
      throw err;
    }
    this.updater = new Updater({
      host,
      deterministic: this.opts.deterministic,
      maxPolicyLag: this.opts.maxPolicyLag ?? 1,
      apply: (w) => this.acting?.setFlat(w),
      firmId: this.run.firmId,
      ...(this.log ? { logger: this.log } : {}),
    });
    this.log?.info(
      { kind: this.kind, backend: this.backend, trainerBackend, trainer: host.mode, maxPolicyLag: this.updater.maxLag },
      "learner ready",
    );
  }

  /** True in a round whose experience is learned from. */
  protected get learning(): boolean {
    return this.training && !this.exploring;
  }

  /**
   * Acts now, or once the trainer is back within the policy-lag bound (after a phase barrier: once
   * every outstanding update is installed). The wait is counted and timed by the Updater.
   */
  act(ctx: ActContext): Float64Array | Promise<Float64Array> {
    const wait = this.need().updater.gate();
    if (wait !== undefined) return wait.then(() => this.actNow(ctx));
    return this.actNow(ctx);
  }

  /** Version of the acting weights (updates installed so far): experience records it for the lag. */
  protected get actingVersion(): number {
    return this.need().updater.version;
  }

  protected abstract actNow(ctx: ActContext): Float64Array;
  abstract observe(outcome: OutcomeView): void;
  /** Hands buffered experience to the trainer; at a phase end incomplete episodes are dropped. */
  protected abstract flush(phaseEnd: boolean): void;
  /** Exploration scale now, as a share of quantityMax. */
  protected abstract noiseShare(): number;

  /**
   * A phase that ends this firm's learning hands over what it collected and sets a barrier: the
   * next act waits until every outstanding update is installed, so the firm plays the whole next
   * phase (frozen, exploring or evaluating) with its final weights, the same ones whatever the
   * timing. Nothing collected in a learning phase is lost to the boundary; rounds that are not
   * learned from (frozen, exploring) are never recorded.
   */
  onPhase(phase: PhaseView): void {
    const was = this.learning;
    this.training = phase.training;
    this.exploring = phase.exploring;
    this.exploreWidth = phase.exploring ? (this.opts.exploreWidthAt?.(phase.round) ?? 1) : 1;
    if (was && !this.learning) {
      this.flush(true);
      this.updater?.barrier();
    }
  }

  /** The actor's means (shares of quantityMax) for B input rows: one batched forward pass. */
  protected actorMeans(x: Float32Array): Float32Array {
    const net = this.need().acting;
    return tf.tidy(() => tf.sigmoid(net.apply(tf.tensor2d(x, [this.B, net.shape.inputs]))).dataSync() as Float32Array);
  }

  /**
   * Exploring phases: uniform quantities over [0, quantityMax], or, when the phase plan narrows the
   * window, over exploreWidth x quantityMax centred on this instance's greedy quantity (shifted to
   * stay inside the range, so the density is the same everywhere in it).
   */
  protected exploringActions(ctx: ActContext): Float64Array {
    const out = new Float64Array(this.B);
    const qMax = this.run.quantityMax;
    const w = this.exploreWidth;
    if (!(w < 1)) {
      for (let i = 0; i < this.B; i++) out[i] = this.rng.uniform(0, qMax);
      return out;
    }
    const means = this.actorMeans(this.features.build(ctx, new Float32Array(this.B * this.features.width)));
    for (let i = 0; i < this.B; i++) {
      const [lo, hi] = exploreWindow(means[i] as number, w);
      out[i] = this.rng.uniform(lo * qMax, hi * qMax);
    }
    return out;
  }

  protected submit(batch: ExperienceBatch): void {
    this.need().updater.submit(batch);
  }

  metrics(): Record<string, number> {
    const m = this.updater?.metrics();
    return {
      explorationStd: this.noiseShare() * this.run.quantityMax,
      trainedRounds: this.trainedRounds,
      updates: m?.updates ?? 0,
      samples: m?.samples ?? 0,
      samplesPerSecond: m?.samplesPerSecond ?? 0,
      trainerSamplesPerSecond: m?.trainerSamplesPerSecond ?? 0,
      trainMs: m?.trainMs ?? 0,
      actWaitMs: m?.actWaitMs ?? 0,
      actWaits: m?.actWaits ?? 0,
      actWaitShare: m?.actWaitShare ?? 0,
      policyLagMax: m?.policyLagMax ?? 0,
      staleLogRatio: m?.staleLogRatio ?? 0,
      loss: m?.loss ?? 0,
      valueLoss: m?.valueLoss ?? 0,
      droppedRows: m?.droppedRows ?? 0,
    };
  }

  /** Awaits every update handed to the trainer so far. */
  async settle(): Promise<void> {
    await this.need().updater.drain();
  }

  async save(dir: string): Promise<void> {
    const { host, updater, spec } = this.need();
    // While acting goes on, a trainer that is behind always has an update outstanding: hold the
    // next act until every one is installed, so that the checkpoint is taken at all (and its
    // weights and counters agree).
    updater.barrier();
    await updater.drain();
    const { state } = await host.request({ type: "get-state" });
    const meta: NeuralMeta = {
      kind: this.kind,
      spec,
      trainedRounds: this.trainedRounds,
      trainerUpdates: state.updates,
      trainerRng: state.rng,
      exploreRng: this.rng.snapshot(),
    };
    await writeCheckpoint(dir, this.run.firmId, { meta, blobs: { params: state.params } });
  }

  async load(dir: string): Promise<boolean> {
    const { host, updater, spec, acting } = this.need();
    const cp = await readCheckpoint<NeuralMeta>(dir, this.run.firmId);
    if (cp === undefined) return false;
    const m = cp.meta;
    if (
      m.spec.algo !== spec.algo ||
      m.spec.actorIn !== spec.actorIn ||
      m.spec.criticIn !== spec.criticIn ||
      m.spec.hidden.join() !== spec.hidden.join()
    )
      throw new ConfigError(`checkpoint of ${this.run.firmId} (${m.kind}) does not fit this ${this.kind} policy's networks`);
    const params = cp.blobs.params;
    if (!(params instanceof Float32Array)) throw new RuntimeFailure(`checkpoint of ${this.run.firmId} has no float32 params`);
    await updater.drain();
    const res = await host.request({ type: "set-state", state: { params, updates: m.trainerUpdates, rng: m.trainerRng } });
    acting.setFlat(res.actor);
    updater.installed(m.trainerUpdates);
    this.trainedRounds = m.trainedRounds;
    this.rng = Rng.restore(m.exploreRng);
    return true;
  }

  async close(): Promise<void> {
    const { host, updater } = this;
    this.updater = undefined;
    this.host = undefined;
    if (updater) await updater.drain().catch(() => undefined);
    if (host) await host.close();
    this.acting?.dispose();
    this.acting = undefined;
  }

  private need(): { acting: Mlp; host: TrainerHost; updater: Updater; spec: TrainerSpec } {
    const { acting, host, updater, spec } = this;
    if (!acting || !host || !updater || !spec)
      throw new Error(`${this.kind} policy of ${this.run.firmId} is not started or already closed`);
    return { acting, host, updater, spec };
  }
}

/**
 * The exploring window [lo, hi] (shares of quantityMax) of width `w` centred on the greedy share
 * `mean`, shifted to stay inside [0, 1] (so the density is the same everywhere in it).
 */
export function exploreWindow(mean: number, w: number): [number, number] {
  const width = Math.min(Math.max(w, 0), 1);
  const lo = Math.min(Math.max(mean - width / 2, 0), 1 - width);
  return [lo, Math.min(lo + width, 1)];
}
