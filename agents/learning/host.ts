/**
 * Where a firm's Trainer runs. A TrainerHost answers the typed worker requests; TrainerEndpoint is
 * the request handler itself (the piscina worker wraps one), InlineHost runs one on the calling
 * thread (unit tests, `inline: true`), TrainingPool (pool.ts) runs one in a worker thread.
 */
import { initBackend } from "./backend.js";
import type { ResponseFor, WorkerRequest, WorkerResponse } from "./messages.js";
import { Trainer } from "./trainer.js";

/** A typed request/response channel to one firm's Trainer. */
export interface TrainerHost {
  readonly mode: "pool" | "inline";
  request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]>;
  close(): Promise<void>;
}

/** Holds one Trainer and answers requests about it. */
export class TrainerEndpoint {
  private trainer: Trainer | undefined;

  private need(): Trainer {
    if (this.trainer === undefined) throw new Error("trainer: no model yet (send init first)");
    return this.trainer;
  }

  async respond(req: WorkerRequest): Promise<WorkerResponse> {
    switch (req.type) {
      case "init": {
        const backend = await initBackend(undefined, req.backend ?? "auto");
        this.trainer?.dispose();
        this.trainer = new Trainer(req.spec);
        return { type: "ready", backend, actor: this.trainer.actorWeights() };
      }
      case "train": {
        const t = this.need();
        const stats = t.train(req.batch);
        return { type: "trained", actor: t.actorWeights(), stats };
      }
      case "get-state":
        return { type: "state", state: this.need().getState() };
      case "set-state": {
        const t = this.need();
        t.setState(req.state);
        return { type: "weights", actor: t.actorWeights() };
      }
      case "dispose":
        this.trainer?.dispose();
        this.trainer = undefined;
        return { type: "disposed" };
    }
  }
}

/** Runs the Trainer on the calling thread: every request completes before the promise resolves. */
export class InlineHost implements TrainerHost {
  readonly mode = "inline";
  private readonly endpoint = new TrainerEndpoint();

  async request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]> {
    return (await this.endpoint.respond(req)) as ResponseFor[R["type"]];
  }

  async close(): Promise<void> {
    await this.endpoint.respond({ type: "dispose" });
  }
}
