/**
 * The training pool of a firm host process: piscina worker threads shared by every learning firm
 * of the process, typed requests and responses, experience and weights moved rather than copied.
 *
 * A Trainer keeps its state between tasks, so each firm's requests go to one thread (its lane); a
 * process with several firms spreads them over at most `threads` lanes (default: one per core but
 * the acting thread's, at least one; `stackelberg run` divides the cores among its firm hosts),
 * the least-used lane first. A lane runs one task at a time; the firms on it take turns. Lanes
 * close with their last firm.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { move, Piscina } from "piscina";
import type { Logger } from "pino";
import { RuntimeFailure } from "../../services/errors.js";
import type { TrainerHost } from "./host.js";
import { Envelope, type ResponseFor, transferablesOf, type WorkerRequest } from "./messages.js";

/**
 * The compiled worker entry. Piscina needs JavaScript: from dist/ it sits beside this file; from the
 * TypeScript sources (vitest) it is the build's copy under <repo>/dist/agents/learning/.
 */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return fileURLToPath(new URL("./worker.js", import.meta.url));
  const repo = path.resolve(path.dirname(here), "..", "..");
  return path.join(repo, "dist", "agents", "learning", "worker.js");
}

/** A task for the worker: which firm's trainer, and the request (see worker.ts). */
export interface KeyedRequest {
  trainer: string;
  req: WorkerRequest;
}

/** The environment variable that sets a process's training threads (`stackelberg run` sets it for its firm hosts). */
export const TRAINING_THREADS_ENV = "STACKELBERG_TRAINING_THREADS";

/**
 * The default number of training threads of one process: $STACKELBERG_TRAINING_THREADS, else the
 * cores but one (acting and I/O), at least one.
 */
export function defaultTrainingThreads(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[TRAINING_THREADS_ENV];
  if (v === undefined || v === "") return Math.max(1, availableParallelism() - 1);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RuntimeFailure(`${TRAINING_THREADS_ENV} must be a positive integer (got "${v}")`);
  return n;
}

export interface TrainingPoolOptions {
  firmId: string;
  logger?: Logger;
  /** Override of the worker entry (defaults to workerFile()). */
  filename?: string;
  /** Most threads the process's pool for this worker entry opens (default defaultTrainingThreads()). */
  threads?: number;
}

/** One worker thread and the trainers (keys) that live in it. */
interface Lane {
  piscina: Piscina;
  firms: Set<string>;
}

/** The process's lanes, per worker entry. */
const lanes = new Map<string, Lane[]>();

/** Trainers made in this process so far: each trainer's key in its thread is unique (a firm id may recur, e.g. two runs in one process). */
let trainersMade = 0;

function laneFor(filename: string, firmId: string, threads: number, logger: Logger | undefined): Lane {
  const all = lanes.get(filename) ?? [];
  lanes.set(filename, all);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`training threads must be a positive integer (got ${threads})`);
  let lane = all.reduce<Lane | undefined>((best, l) => (best === undefined || l.firms.size < best.firms.size ? l : best), undefined);
  if (lane === undefined || (lane.firms.size > 0 && all.length < threads)) {
    const piscina = new Piscina({
      filename,
      // One thread per lane: the trainers in it keep state between tasks, which run one at a time.
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
    });
    const l: Lane = { piscina, firms: new Set() };
    piscina.on("error", (err: unknown) => logger?.error({ err, firmIds: [...l.firms] }, "training worker failed"));
    all.push(l);
    lane = l;
  }
  lane.firms.add(firmId);
  return lane;
}

/** A firm's handle on the process's training pool (its trainer lives in one lane). */
export class TrainingPool implements TrainerHost {
  readonly mode = "pool";
  private readonly lane: Lane;
  private readonly filename: string;
  /** This trainer's key in its thread: the firm id, made unique in the process. */
  private readonly key: string;
  private closed = false;

  constructor(opts: TrainingPoolOptions) {
    this.filename = opts.filename ?? workerFile();
    if (!existsSync(this.filename))
      throw new RuntimeFailure(`training worker ${this.filename} does not exist: run \`npm run build\` first`);
    this.key = `${opts.firmId}#${++trainersMade}`;
    this.lane = laneFor(this.filename, this.key, opts.threads ?? defaultTrainingThreads(), opts.logger);
  }

  /** Threads of this process's pool for this firm's worker entry (for logs and tests). */
  get threads(): number {
    return lanes.get(this.filename)?.length ?? 0;
  }

  async request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]> {
    if (this.closed) throw new Error("training pool is closed");
    const task = move(new Envelope<KeyedRequest>({ trainer: this.key, req }, transferablesOf(req)) as never);
    return (await this.lane.piscina.run(task)) as ResponseFor[R["type"]];
  }

  /** Drops this firm's trainer from its thread; the thread closes with its last firm. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.lane.piscina.run({ trainer: this.key, req: { type: "dispose" } } satisfies KeyedRequest);
    } catch {
      // A failed thread has nothing left to dispose.
    }
    this.lane.firms.delete(this.key);
    if (this.lane.firms.size > 0) return;
    const all = lanes.get(this.filename) ?? [];
    all.splice(all.indexOf(this.lane), 1);
    if (all.length === 0) lanes.delete(this.filename);
    await this.lane.piscina.destroy();
  }
}
