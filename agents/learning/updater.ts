/**
 * Moves experience from the acting thread to the trainer and new weights back, without ever
 * dropping experience.
 *
 * Default (asynchronous) mode: double-buffered collection with a bounded policy lag. While the
 * trainer updates on one buffer, acting fills the next with the weights it has; each update's
 * weights are installed in the acting copy when they arrive. The policy lag of a sample is the
 * number of updates the trainer has made beyond the weights that produced it when it is trained on;
 * acting may go on only while at most `maxPolicyLag` updates are outstanding (submitted, weights
 * not yet installed), so no sample is ever more than `maxPolicyLag` updates stale. When the trainer
 * falls behind, acting waits for it (backpressure): the wait is counted and timed, never traded for
 * dropped rows. PPO corrects the lag with its ratio against the behaviour policy recorded at acting
 * time; DDPG learns off-policy from replay anyway.
 *
 * Deterministic mode (and an inline trainer) is the lag-0 case: acting waits for every update, so
 * updates land at fixed rounds and a seed fixes the run.
 *
 * barrier() makes the next act wait for every outstanding update: a firm whose training phase ends
 * plays the next phase with its final weights, not with weights that change at some round that
 * depends on timing.
 */
import type { Logger } from "pino";
import { RuntimeFailure } from "../../services/errors.js";
import type { TrainerHost } from "./host.js";
import { concatBatches, type ExperienceBatch } from "./messages.js";

export interface UpdaterOptions {
  host: TrainerHost;
  /** Acting waits for every update (policy lag 0), so that the same seed gives the same run. */
  deterministic: boolean;
  /** Asynchronous mode: most updates outstanding while acting goes on (1 = double buffering). */
  maxPolicyLag: number;
  /** Installs new actor weights in the acting network. */
  apply: (actor: Float32Array) => void;
  /** Names the firm in errors. */
  firmId?: string;
  logger?: Pick<Logger, "error" | "warn">;
}

export interface UpdaterMetrics {
  updates: number;
  /** Experience samples trained on. */
  samples: number;
  /**
   * Samples trained per second through the whole path, as the acting thread sees it: experience
   * moved to the worker, the update, the new weights back and installed.
   */
  samplesPerSecond: number;
  /** Samples per second of time inside the trainer (the update alone). */
  trainerSamplesPerSecond: number;
  /** Total time the acting thread waited on training before acting, ms. */
  actWaitMs: number;
  /** Acts that had to wait. */
  actWaits: number;
  /** actWaitMs over the time since the first act. */
  actWaitShare: number;
  /** Time spent inside the trainer, ms. */
  trainMs: number;
  /** Time from handing a buffer to the trainer until its weights were installed, ms. */
  pathMs: number;
  /** Largest policy lag of any trained buffer (updates between behaviour weights and the trainer's). */
  policyLagMax: number;
  /** Mean |log pi_trainer(a) - log pi_behaviour(a)| of the last update at its start (PPO). */
  staleLogRatio: number;
  loss: number;
  valueLoss: number;
  /** Always 0: experience is never dropped (kept as a metric so that reports can show it). */
  droppedRows: number;
}

/** A buffer waiting for the trainer, and where it stands in the act sequence. */
interface Queued {
  batch: ExperienceBatch;
  /** Value of `acts` when it was queued: a later submission in the same act gap joins it. */
  gap: number;
}

/**
 * Hard cap on buffers outstanding. The act gate keeps them at maxPolicyLag + 1 (one more when a
 * single observation hands over two buffers); exceeding it means experience is submitted without
 * acting in between, a bug in the caller: it fails loudly instead of queueing without bound.
 */
const SLACK = 2;

export class Updater {
  private running: Promise<void> | undefined;
  private readonly queue: Queued[] = [];
  private failure: Error | undefined;
  /** Updates whose weights are in the acting copy (the acting version). */
  private applied = 0;
  /** Train calls handed over (started or queued) and not yet finished. */
  private outstanding = 0;
  private acts = 0;
  private barrierSet = false;
  private firstAct: number | undefined;
  private readonly bound: number;
  private readonly m: UpdaterMetrics = {
    updates: 0,
    samples: 0,
    samplesPerSecond: 0,
    trainerSamplesPerSecond: 0,
    actWaitMs: 0,
    actWaits: 0,
    actWaitShare: 0,
    trainMs: 0,
    pathMs: 0,
    policyLagMax: 0,
    staleLogRatio: 0,
    loss: 0,
    valueLoss: 0,
    droppedRows: 0,
  };

  constructor(private readonly opts: UpdaterOptions) {
    if (!Number.isInteger(opts.maxPolicyLag) || opts.maxPolicyLag < 1)
      throw new RangeError(`maxPolicyLag must be a positive integer (got ${opts.maxPolicyLag})`);
    this.bound = opts.deterministic || opts.host.mode === "inline" ? 0 : opts.maxPolicyLag;
  }

  /** Updates installed in the acting copy so far: the version of the weights acting uses now. */
  get version(): number {
    return this.applied;
  }

  /**
   * The acting copy now holds the trainer's weights after `updates` updates (a restored
   * checkpoint): versions count the trainer's updates, which is what makes them comparable.
   */
  installed(updates: number): void {
    if (this.outstanding > 0) throw new Error("installed() with updates outstanding: drain() first");
    this.applied = updates;
  }

  /** Most updates that may be outstanding when acting goes on (0 in deterministic mode). */
  get maxLag(): number {
    return this.bound;
  }

  /** Buffers handed over whose weights are not installed yet. */
  get pending(): number {
    return this.outstanding;
  }

  /**
   * Called before every act. Returns undefined when acting may go on now, else a promise that
   * resolves once it may (the trainer caught up to the lag bound, or to zero after a barrier); the
   * time until then counts as acting wait.
   */
  gate(): Promise<void> | undefined {
    this.acts++;
    this.firstAct ??= performance.now();
    if (!this.mustWait) return undefined;
    this.m.actWaits++;
    const t0 = performance.now();
    return this.settle(this.barrierSet ? 0 : this.bound).then(() => {
      this.m.actWaitMs += performance.now() - t0;
    });
  }

  /** True when an act now would have to wait. */
  get mustWait(): boolean {
    return this.outstanding > (this.barrierSet ? 0 : this.bound);
  }

  /** The next act waits for every outstanding update (a phase boundary). */
  barrier(): void {
    if (this.outstanding > 0) this.barrierSet = true;
  }

  /**
   * Hands a buffer to the trainer, or queues it behind the running update: never blocks, never
   * drops. A buffer submitted in the same gap between two acts as the last queued one joins it.
   */
  submit(batch: ExperienceBatch): void {
    if (batch.rows === 0) return;
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined && last.gap === this.acts) {
      last.batch = concatBatches([last.batch, batch]);
      return;
    }
    if (this.outstanding >= this.bound + SLACK)
      throw new RuntimeFailure(
        `${this.opts.firmId ?? "learner"}: ${this.outstanding} experience buffers wait for the trainer (at most ${this.bound + SLACK}); experience is submitted without acting in between`,
      );
    this.outstanding++;
    if (this.running === undefined) this.start(batch);
    else this.queue.push({ batch, gap: this.acts });
  }

  private start(batch: ExperienceBatch): void {
    // The trainer has made `applied` updates (they run one at a time, in order), so this many
    // separate its weights from the oldest behaviour weights in the buffer.
    const lag = this.applied - (batch.behaviourVersion ?? this.applied);
    if (lag > this.m.policyLagMax) this.m.policyLagMax = lag;
    const t0 = performance.now();
    const run = this.opts.host.request({ type: "train", batch }).then(
      (res) => {
        this.opts.apply(res.actor);
        this.applied++;
        const m = this.m;
        m.updates++;
        m.trainMs += res.stats.ms;
        m.pathMs += performance.now() - t0;
        m.samples += res.stats.samples;
        m.samplesPerSecond = m.pathMs > 0 ? (1000 * m.samples) / m.pathMs : 0;
        m.trainerSamplesPerSecond = m.trainMs > 0 ? (1000 * m.samples) / m.trainMs : 0;
        if (res.stats.steps > 0) {
          m.loss = res.stats.loss;
          m.valueLoss = res.stats.valueLoss;
          m.staleLogRatio = res.stats.staleLogRatio ?? 0;
        }
      },
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.opts.logger?.error({ err }, "training update failed");
      },
    );
    this.running = run.finally(() => {
      this.running = undefined;
      this.outstanding--;
      if (this.outstanding === 0) this.barrierSet = false;
      const next = this.queue.shift();
      if (next !== undefined) this.start(next.batch);
    });
  }

  /** Resolves once at most `max` updates are outstanding; rethrows a training failure once. */
  private async settle(max: number): Promise<void> {
    while (this.outstanding > max && this.running !== undefined) await this.running;
    const f = this.failure;
    if (f !== undefined) {
      this.failure = undefined;
      throw f;
    }
  }

  /** Awaits every submitted update; rethrows a training failure once. */
  drain(): Promise<void> {
    return this.settle(0);
  }

  metrics(): UpdaterMetrics {
    const since = this.firstAct === undefined ? 0 : performance.now() - this.firstAct;
    return { ...this.m, actWaitShare: since > 0 ? this.m.actWaitMs / since : 0 };
  }
}
