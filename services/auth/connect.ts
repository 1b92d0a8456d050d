/**
 * How a component (market, firm, launcher) connects: credentials from `--creds` (a file, or the
 * folder `stackelberg auth` wrote), its identity's inbox prefix, TLS for tls:// URLs. Without
 * credentials a component refuses to start unless `--insecure` says so explicitly.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { type Identity, NatsBus, runSubjects } from "../bus/index.js";
import { authenticatorFrom } from "./credentials.js";
import { credsFile, identityName } from "./identities.js";
import { ConfigError } from "../errors.js";

/** The connection options every component command takes. */
export interface ConnectFlags {
  nats: string;
  creds?: string;
  insecure?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The credentials file of identity `name` given `--creds` (a file, or a folder holding `<name>.nk`). */
export function credsPath(creds: string, name: string): string {
  if (existsSync(creds) && statSync(creds).isDirectory()) {
    const f = join(creds, credsFile(name));
    if (!existsSync(f)) throw new ConfigError(`--creds ${creds}: no ${credsFile(name)} in that folder (it holds another run's or experiment's credentials?)`);
    return f;
  }
  return creds;
}

/** Refuses contradictory or missing security flags; call before any work. */
export function checkSecurityFlags(f: ConnectFlags): void {
  if (f.creds && f.insecure) throw new ConfigError("--creds and --insecure contradict each other; pass one");
  if (!f.creds && !f.insecure)
    throw new ConfigError(
      "no credentials: pass --creds FILE (written by `stackelberg auth <experiment.yaml> --out DIR`), or --insecure to connect without authentication",
    );
  const tlsUrl = f.nats.split(",").some((u) => u.trim().startsWith("tls://"));
  if (!tlsUrl && (f.tlsCa || f.tlsCert || f.tlsKey)) throw new ConfigError("--tls-ca/--tls-cert/--tls-key need a tls:// server URL");
  if (Boolean(f.tlsCert) !== Boolean(f.tlsKey)) throw new ConfigError("--tls-cert and --tls-key go together");
  for (const [flag, file] of [
    ["--tls-ca", f.tlsCa],
    ["--tls-cert", f.tlsCert],
    ["--tls-key", f.tlsKey],
  ] as const)
    if (file && !existsSync(file)) throw new ConfigError(`${flag} ${file}: no such file`);
}

/** Connects identity `who` of run `runId` as the flags say (its file in an auth folder is `<identityName>.nk`). */
export async function connectAs(f: ConnectFlags, runId: string, who: Identity, connName: string, log: Logger): Promise<NatsBus> {
  const name = identityName(who);
  checkSecurityFlags(f);
  const subj = runSubjects(runId);
  let authenticator: ReturnType<typeof authenticatorFrom>["authenticator"] | undefined;
  if (f.creds) {
    const file = credsPath(f.creds, name);
    const a = authenticatorFrom(file);
    if (a.worldReadable) log.warn({ file }, "credentials file is readable by other users; chmod 600 it");
    authenticator = a.authenticator;
  } else {
    log.warn(
      { component: name },
      "running with --insecure: no credentials; on a server without auth anyone who reaches it can forge any firm's submissions or the market's messages",
    );
  }
  const tlsUrl = f.nats.split(",").some((u) => u.trim().startsWith("tls://"));
  return NatsBus.connect({
    servers: f.nats.split(",").map((u) => u.trim()),
    name: connName,
    logger: log,
    inboxPrefix: subj.inbox(who),
    ...(authenticator ? { authenticator } : {}),
    ...(tlsUrl
      ? {
          tls: {
            ...(f.tlsCa ? { caFile: f.tlsCa } : {}),
            ...(f.tlsCert ? { certFile: f.tlsCert } : {}),
            ...(f.tlsKey ? { keyFile: f.tlsKey } : {}),
          },
        }
      : {}),
  });
}
