/**
 * The piscina worker entry. A thread of a process's training pool holds the trainers of the firms
 * assigned to it (pool.ts), one endpoint per firm; replies move their weight buffers back without
 * copies.
 */
import { TrainerEndpoint } from "./host.js";
import { type Envelope, moveMessage, type WorkerResponse } from "./messages.js";
import type { KeyedRequest } from "./pool.js";

const endpoints = new Map<string, TrainerEndpoint>();

/** Handles one typed request (see messages.ts) for the trainer of firm `task.trainer`. */
export default async function handle(task: KeyedRequest): Promise<Envelope<WorkerResponse>> {
  let endpoint = endpoints.get(task.trainer);
  if (endpoint === undefined) {
    endpoint = new TrainerEndpoint();
    endpoints.set(task.trainer, endpoint);
  }
  const res = await endpoint.respond(task.req);
  if (task.req.type === "dispose") endpoints.delete(task.trainer);
  return moveMessage(res);
}
