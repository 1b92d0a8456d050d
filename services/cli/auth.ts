import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeRunAuth } from "../auth/index.js";
import { loadExperiment } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { runIdFor } from "../launcher/run-id.js";

export interface AuthCommandOptions {
  out: string;
  run?: string;
  listen: string;
  store?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** `stackelberg auth <config> --out DIR`: server config and per-component credentials for one run. */
export function authCommand(config: string, o: AuthCommandOptions): void {
  const exp = loadExperiment(config);
  if (!/^[^\s:]+:\d{1,5}$/.test(o.listen)) throw new ConfigError(`--listen ${o.listen}: expected host:port, e.g. 0.0.0.0:4222`);
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new ConfigError("--tls-cert and --tls-key go together");
  if (o.tlsCa && !o.tlsCert) throw new ConfigError("--tls-ca (verify clients) needs the server's --tls-cert and --tls-key");
  for (const [flag, f] of [
    ["--tls-cert", o.tlsCert],
    ["--tls-key", o.tlsKey],
    ["--tls-ca", o.tlsCa],
  ] as const)
    if (f && !existsSync(f)) throw new ConfigError(`${flag} ${f}: no such file`);
  const runId = o.run ?? runIdFor(exp.name, randomBytes(3).toString("hex"));
  const out = resolve(o.out);
  const m = writeRunAuth(out, exp, runId, {
    listen: o.listen,
    ...(o.store ? { storeDir: resolve(o.store) } : {}),
    ...(o.tlsCert && o.tlsKey
      ? { tls: { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey), ...(o.tlsCa ? { caFile: resolve(o.tlsCa) } : {}) } }
      : {}),
  });
  const scheme = o.tlsCert ? "tls" : "nats";
  const url = `${scheme}://<server-host>:${o.listen.split(":").pop()}`;
  const firmLines = exp.firms.map(
    (f) => `  stackelberg firm   --config ${config} --nats ${url} --run ${runId} --firm ${f.id} --creds ${join(out, `firm-${f.id}.nk`)}`,
  );
  process.stdout.write(
    [
      `run ${runId}: credentials for ${m.identities.length} components in ${out} (max_payload ${m.maxPayload} bytes)`,
      "",
      "server:",
      `  nats-server -c ${join(out, "server.conf")}`,
      "components (copy each .nk file only to the machine that runs that component):",
      `  stackelberg market --config ${config} --nats ${url} --run ${runId} --creds ${join(out, "market.nk")}`,
      ...firmLines,
      `results reader: ${join(out, "reader.nk")} (read-only access to the record stream)`,
      "",
    ].join("\n"),
  );
}
