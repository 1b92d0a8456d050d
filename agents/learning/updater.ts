/**
 * Moves experience from the acting thread to the trainer and new weights back. In the default mode
 * acting never waits: an update runs in the firm's worker while the firm keeps acting on its
 * current weights, experience arriving meanwhile is queued (the oldest dropped past a cap) and the
 * new weights are applied whenever they arrive. In deterministic mode (and with an inline trainer)
 * the next act() awaits the pending update first, so updates land at fixed rounds.
 */
import type { Logger } from "pino";
import type { TrainerHost } from "./host.js";
import { concatBatches, type ExperienceBatch } from "./messages.js";

export interface UpdaterOptions {
  host: TrainerHost;
  deterministic: boolean;
  /** Installs new actor weights in the acting network. */
  apply: (actor: Float32Array) => void;
  /** Cap on experience rows waiting behind a running update (async mode); the oldest are dropped. */
  maxQueuedRows: number;
  logger?: Pick<Logger, "error" | "warn">;
}

export interface UpdaterMetrics {
  updates: number;
  /** Samples trained per second of trainer time. */
  samplesPerSecond: number;
  /** Total time the acting thread waited on training, ms. */
  waitMs: number;
  /** Total time spent inside the trainer, ms. */
  trainMs: number;
  loss: number;
  valueLoss: number;
  droppedRows: number;
}

export class Updater {
  private inflight: Promise<void> | undefined;
  private queued: ExperienceBatch[] = [];
  private queuedRows = 0;
  private failure: Error | undefined;
  private readonly m: UpdaterMetrics = {
    updates: 0,
    samplesPerSecond: 0,
    waitMs: 0,
    trainMs: 0,
    loss: 0,
    valueLoss: 0,
    droppedRows: 0,
  };
  private samples = 0;

  constructor(private readonly opts: UpdaterOptions) {}

  /** True when act() must first await wait(): a synchronized update is still running. */
  get mustWait(): boolean {
    return this.inflight !== undefined && (this.opts.deterministic || this.opts.host.mode === "inline");
  }

  /** Hands experience to the trainer, or queues it behind the running update. Never blocks. */
  submit(batch: ExperienceBatch): void {
    if (batch.rows === 0) return;
    if (this.inflight === undefined) {
      this.start(batch);
      return;
    }
    this.queued.push(batch);
    this.queuedRows += batch.rows;
    if (!this.opts.deterministic) {
      // A slow trainer must not make the queue grow without bound: keep the newest experience.
      while (this.queuedRows > this.opts.maxQueuedRows && this.queued.length > 1) {
        const old = this.queued.shift() as ExperienceBatch;
        this.queuedRows -= old.rows;
        this.m.droppedRows += old.rows;
      }
    }
  }

  private start(batch: ExperienceBatch): void {
    const run = this.opts.host.request({ type: "train", batch }).then(
      (res) => {
        this.opts.apply(res.actor);
        this.m.updates++;
        this.m.trainMs += res.stats.ms;
        this.samples += res.stats.samples;
        this.m.samplesPerSecond = this.m.trainMs > 0 ? (1000 * this.samples) / this.m.trainMs : 0;
        if (res.stats.steps > 0) {
          this.m.loss = res.stats.loss;
          this.m.valueLoss = res.stats.valueLoss;
        }
      },
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.opts.logger?.error({ err }, "training update failed");
      },
    );
    this.inflight = run.finally(() => {
      this.inflight = undefined;
      if (this.queued.length > 0) {
        const next = concatBatches(this.queued);
        this.queued = [];
        this.queuedRows = 0;
        this.start(next);
      }
    });
  }

  /** Awaits the running update (and what was queued behind it); the time counts as waitMs. */
  async wait(): Promise<void> {
    const t0 = performance.now();
    await this.drain();
    this.m.waitMs += performance.now() - t0;
  }

  /** Awaits every submitted update; rethrows a training failure once. */
  async drain(): Promise<void> {
    while (this.inflight !== undefined) await this.inflight;
    const f = this.failure;
    if (f !== undefined) {
      this.failure = undefined;
      throw f;
    }
  }

  metrics(): UpdaterMetrics {
    return { ...this.m };
  }
}
