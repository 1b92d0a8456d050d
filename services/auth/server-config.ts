/**
 * Renders a nats-server configuration for one run: JetStream on, a max_payload that fits the run,
 * one nkey user per component with least-privilege permissions, and nobody else (no anonymous
 * user, no `no_auth_user`).
 */
import type { RunIdentity } from "./identities.js";

export interface ServerConfigOptions {
  runId: string;
  /** host:port the server listens on (client connections). */
  listen: string;
  maxPayload: number;
  /** JetStream store directory. */
  storeDir: string;
  identities: ReadonlyArray<RunIdentity & { publicKey: string }>;
  /** Server TLS (certificate and key files); clients then connect with tls://. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

/** A config-file string literal (nats-server's format takes JSON strings). */
function q(s: string): string {
  return JSON.stringify(s);
}

function list(a: readonly string[]): string {
  return `[${a.map(q).join(", ")}]`;
}

/** The configuration text. */
export function renderServerConfig(o: ServerConfigOptions): string {
  const users = o.identities.map((id) => {
    const p = id.permissions;
    return [
      `    # ${id.name}`,
      "    {",
      `      nkey: ${q(id.publicKey)}`,
      "      permissions: {",
      `        publish: { allow: ${list(p.publish)} }`,
      `        subscribe: { allow: ${list(p.subscribe)} }`,
      // One reply per request, within a minute: the market answers each Register once.
      ...(p.allowResponses ? ['        allow_responses: { max: 1, expires: "1m" }'] : []),
      "      }",
      "    }",
    ].join("\n");
  });
  const tls = o.tls
    ? [
        "tls {",
        `  cert_file: ${q(o.tls.certFile)}`,
        `  key_file: ${q(o.tls.keyFile)}`,
        ...(o.tls.caFile ? [`  ca_file: ${q(o.tls.caFile)}`] : []),
        "}",
      ]
    : [];
  return [
    `# nats-server configuration for stackelberg run ${o.runId}, written by \`stackelberg auth\`.`,
    "# Every component has its own nkey identity; permissions come from services/bus/permissions.ts.",
    `listen: ${q(o.listen)}`,
    `max_payload: ${o.maxPayload}`,
    "jetstream {",
    `  store_dir: ${q(o.storeDir)}`,
    "}",
    ...tls,
    "authorization {",
    "  users: [",
    users.join("\n"),
    "  ]",
    "}",
    "",
  ].join("\n");
}
