/**
 * A local nats-server secured for one run, as `stackelberg run` and `stackelberg conformance` start
 * it: the run's credentials and server configuration in `<dir>/auth` (written once; a folder already
 * there must hold this run's), its JetStream store in `<dir>/nats-store`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readRunAuth, writeRunAuth } from "../auth/index.js";
import type { Experiment } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { type LocalNats, startNatsServer } from "./nats-server.js";

export interface SecuredServer {
  nats: LocalNats;
  /** The auth folder: server.conf, auth.json and one `<component>.nk` per identity. */
  auth: string;
}

/** Writes (or checks) `<dir>/auth` for run `runId` of `exp` and starts nats-server with it. */
export async function startSecuredServer(
  dir: string,
  exp: Experiment,
  runId: string,
  o: { port?: number } = {},
): Promise<SecuredServer> {
  const auth = join(dir, "auth");
  const storeDir = join(dir, "nats-store");
  if (existsSync(join(auth, "auth.json"))) {
    const m = readRunAuth(auth, exp);
    if (m.runId !== runId) throw new ConfigError(`${auth} holds credentials for run ${m.runId}, not ${runId}`);
  } else writeRunAuth(auth, exp, runId, { storeDir });
  const nats = await startNatsServer({
    storeDir,
    configFile: join(auth, "server.conf"),
    ...(o.port !== undefined ? { port: o.port } : {}),
  });
  return { nats, auth };
}
