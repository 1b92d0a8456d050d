import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { serverConfigFile, writeRunAuth } from "../auth/index.js";
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
  /** A NATS cluster: "name=host:port,..." (each node's route address). */
  cluster?: string;
}

/** Parses `--cluster n1=host:port,n2=host:port,...` (port 6222 when left out); needs at least two nodes. */
export function parseClusterNodes(v: string): Array<{ name: string; route: string }> {
  const nodes = v.split(",").map((item) => {
    const m = /^([A-Za-z0-9_-]{1,32})=([^\s:=,]+)(?::(\d{1,5}))?$/.exec(item.trim());
    if (!m) throw new ConfigError(`--cluster ${v}: "${item}" is not name=host:port (e.g. n1=10.0.0.1:6222)`);
    return { name: m[1]!, route: `${m[2]}:${m[3] ?? "6222"}` };
  });
  if (nodes.length < 2) throw new ConfigError(`--cluster ${v}: a cluster needs at least two nodes`);
  const names = nodes.map((n) => n.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`--cluster ${v}: node name ${dup} appears twice`);
  return nodes;
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
  const nodes = o.cluster ? parseClusterNodes(o.cluster) : undefined;
  const runId = o.run ?? runIdFor(exp.name, randomBytes(3).toString("hex"));
  const out = resolve(o.out);
  const m = writeRunAuth(out, exp, runId, {
    listen: o.listen,
    ...(o.store ? { storeDir: resolve(o.store) } : {}),
    ...(o.tlsCert && o.tlsKey
      ? { tls: { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey), ...(o.tlsCa ? { caFile: resolve(o.tlsCa) } : {}) } }
      : {}),
    ...(nodes ? { cluster: { nodes } } : {}),
  });
  const scheme = o.tlsCert ? "tls" : "nats";
  const port = o.listen.split(":").pop();
  const url = nodes
    ? nodes.map((n) => `${scheme}://${n.route.slice(0, n.route.lastIndexOf(":"))}:${port}`).join(",")
    : `${scheme}://<server-host>:${port}`;
  const serverLines = nodes
    ? nodes.map((n) => `  nats-server -c ${join(out, serverConfigFile(n.name))}    # on ${n.name} (${n.route.slice(0, n.route.lastIndexOf(":"))})`)
    : [`  nats-server -c ${join(out, "server.conf")}`];
  const firmLines = exp.firms.map(
    (f) => `  stackelberg firm   --config ${config} --nats ${url} --run ${runId} --firm ${f.id} --creds ${join(out, `firm-${f.id}.nk`)}`,
  );
  process.stdout.write(
    [
      `run ${runId}: credentials for ${m.identities.length} components in ${out} (max_payload ${m.maxPayload} bytes)`,
      "",
      nodes ? "servers (copy each node only its own configuration; it holds every public key and the route password):" : "server:",
      ...serverLines,
      "components (copy each .nk file only to the machine that runs that component):",
      `  stackelberg market --config ${config} --nats ${url} --run ${runId} --creds ${join(out, "market.nk")}`,
      ...firmLines,
      `results reader: ${join(out, "reader.nk")} (read-only access to the record stream)`,
      "",
    ].join("\n"),
  );
}
