/**
 * A firm's training pool: piscina with exactly one worker thread (the firm's Trainer lives in it),
 * typed requests and responses, experience and weights moved rather than copied.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import type { Logger } from "pino";
import { RuntimeFailure } from "../../services/errors.js";
import type { TrainerHost } from "./host.js";
import { moveMessage, type ResponseFor, type WorkerRequest } from "./messages.js";

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

export interface TrainingPoolOptions {
  firmId: string;
  logger?: Logger;
  /** Override of the worker entry (defaults to workerFile()). */
  filename?: string;
}

export class TrainingPool implements TrainerHost {
  readonly mode = "pool";
  private readonly piscina: Piscina;
  private closed = false;

  constructor(opts: TrainingPoolOptions) {
    const filename = opts.filename ?? workerFile();
    if (!existsSync(filename))
      throw new RuntimeFailure(`training worker ${filename} does not exist: run \`npm run build\` first`);
    this.piscina = new Piscina({
      filename,
      // One thread per firm: its Trainer keeps state between tasks, which run one at a time.
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
    });
    this.piscina.on("error", (err: unknown) => opts.logger?.error({ err, firmId: opts.firmId }, "training worker failed"));
  }

  async request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]> {
    if (this.closed) throw new Error("training pool is closed");
    return (await this.piscina.run(moveMessage(req))) as ResponseFor[R["type"]];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
