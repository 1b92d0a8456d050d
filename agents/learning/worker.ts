/**
 * The piscina worker entry. Each firm's pool has one thread, so this module's endpoint is that
 * firm's learner; replies move their weight buffers back without copies.
 */
import { TrainerEndpoint } from "./host.js";
import { type Envelope, moveMessage, type WorkerRequest, type WorkerResponse } from "./messages.js";

const endpoint = new TrainerEndpoint();

/** Handles one typed request (see messages.ts). */
export default async function handle(req: WorkerRequest): Promise<Envelope<WorkerResponse>> {
  return moveMessage(await endpoint.respond(req));
}
