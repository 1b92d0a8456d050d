/**
 * `stackelberg auth` and the launcher's per-run auth: generates one nkey per component, writes each
 * seed to its own credentials file (mode 0600), the nats-server configuration, and a manifest
 * (auth.json: run id, public keys, inbox prefixes and permissions; no secrets). Reading the folder
 * back (resume, or `run --nats URL --auth DIR`) checks it belongs to the run and experiment.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { maxPayloadFor, NATS_MAX_PAYLOAD_LIMIT, runSubjects } from "../bus/index.js";
import type { Experiment } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { observationColumns } from "../../market/service/index.js";
import { credsFile, identitiesOf, type RunIdentity } from "./identities.js";
import { renderServerConfig } from "./server-config.js";

/** The manifest of an auth folder. */
export interface AuthManifest {
  runId: string;
  experiment: string;
  created: string;
  maxPayload: number;
  identities: Array<Omit<RunIdentity, "permissions"> & { publicKey: string; creds: string; permissions: RunIdentity["permissions"] }>;
}

export interface AuthOptions {
  /** Where the server listens (default 127.0.0.1:4222; use 0.0.0.0:4222 for other machines). */
  listen?: string;
  /** JetStream store directory written into the server config (default <dir>/nats-store). */
  storeDir?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /**
   * A NATS cluster: one configuration per node (`server-<node>.conf` instead of `server.conf`), each
   * with its own server name, its store in `<storeDir>/<node>`, routes to the other nodes on their
   * `host:port` and a route password generated here (so no stranger joins the cluster as a route).
   */
  cluster?: { nodes: ReadonlyArray<{ name: string; route: string }> };
}

/** The configuration file of cluster node `node` in an auth folder. */
export function serverConfigFile(node: string): string {
  return `server-${node}.conf`;
}

/** The max_payload run `exp` needs, or a ConfigError naming what to lower. */
export function runMaxPayload(exp: Experiment): number {
  const mp = maxPayloadFor(exp.market.batch, exp.firms.length, observationColumns(exp).length);
  if (mp > NATS_MAX_PAYLOAD_LIMIT)
    throw new ConfigError(
      `market.batch ${exp.market.batch} with ${exp.firms.length} firms needs messages of about ${Math.round(mp / 1048576)} MiB, above NATS's 64 MiB limit; lower market.batch`,
    );
  return mp;
}

/** Generates and writes the auth folder of run `runId`; refuses to overwrite an existing one. */
export function writeRunAuth(dir: string, exp: Experiment, runId: string, o: AuthOptions = {}): AuthManifest {
  try {
    return writeFiles(dir, exp, runId, o);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code && e.path) throw new ConfigError(`cannot write credentials to ${dir}: ${e.code} on ${e.path}`, { cause: err });
    throw err;
  }
}

function writeFiles(dir: string, exp: Experiment, runId: string, o: AuthOptions): AuthManifest {
  runSubjects(runId); // validates the run id (ConfigError)
  const manifestFile = join(dir, "auth.json");
  if (existsSync(manifestFile)) throw new ConfigError(`${dir} already holds credentials (auth.json); choose another --out or remove it`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const maxPayload = runMaxPayload(exp);
  const identities = identitiesOf(exp, runId).map((id) => {
    const kp = createUser();
    const file = credsFile(id.name);
    writeFileSync(join(dir, file), `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600 });
    return { ...id, publicKey: kp.getPublicKey(), creds: file };
  });
  const storeDir = o.storeDir ?? resolve(dir, "nats-store");
  const base = { runId, listen: o.listen ?? "127.0.0.1:4222", maxPayload, storeDir, identities, ...(o.tls ? { tls: o.tls } : {}) };
  if (!o.cluster) writeFileSync(join(dir, "server.conf"), renderServerConfig(base), { mode: 0o600 });
  const nodes = o.cluster?.nodes ?? [];
  const password = randomBytes(24).toString("base64url");
  for (const node of nodes) {
    const config = renderServerConfig({
      ...base,
      storeDir: join(storeDir, node.name),
      cluster: {
        name: `stk-${runId}`,
        serverName: node.name,
        listen: `0.0.0.0:${node.route.split(":").pop()}`,
        routes: nodes.filter((x) => x !== node).map((x) => x.route),
        user: "route",
        password,
      },
    });
    writeFileSync(join(dir, serverConfigFile(node.name)), config, { mode: 0o600 });
  }
  const manifest: AuthManifest = {
    runId,
    experiment: exp.name,
    created: new Date().toISOString(),
    maxPayload,
    identities: identities.map(({ name, identity, inbox, publicKey, creds, permissions }) => ({
      name,
      identity,
      inbox,
      publicKey,
      creds,
      permissions,
    })),
  };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads an auth folder's manifest; checks it covers every firm of `exp` when given. */
export function readRunAuth(dir: string, exp?: Experiment): AuthManifest {
  const file = join(dir, "auth.json");
  if (!existsSync(file)) throw new ConfigError(`${dir}: no auth.json there (write one with \`stackelberg auth <experiment.yaml> --out ${dir}\`)`);
  let m: AuthManifest;
  try {
    m = JSON.parse(readFileSync(file, "utf8")) as AuthManifest;
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof m.runId !== "string" || !Array.isArray(m.identities)) throw new ConfigError(`${file} is not an auth manifest (no runId / identities)`);
  if (exp) {
    const have = new Map(m.identities.map((i) => [i.name, i]));
    const missing = identitiesOf(exp, m.runId).filter((i) => !have.has(i.name)).map((i) => i.name);
    if (missing.length > 0)
      throw new ConfigError(`${dir} has no credentials for ${missing.join(", ")}: it was written for another experiment`);
    // Same names but other tiers or learners would leave a firm without its move subject.
    const differ = identitiesOf(exp, m.runId)
      .filter((i) => JSON.stringify(have.get(i.name)?.permissions) !== JSON.stringify(i.permissions))
      .map((i) => i.name);
    if (differ.length > 0)
      throw new ConfigError(
        `${dir} gives ${differ.join(", ")} other permissions than this experiment needs (a firm's tier or learner changed?); write new credentials with \`stackelberg auth\``,
      );
  }
  return m;
}
