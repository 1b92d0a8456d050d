/**
 * Renders a nats-server configuration for one run: JetStream on, a max_payload that fits the run,
 * one nkey user per component with least-privilege permissions, and nobody else (no anonymous
 * user, no `no_auth_user`). Two accounts: RUN (the market, the firms and the stream) and RESULTS
 * (the results reader), which imports direct gets and stream info of the run's stream under its
 * own prefix. Replies to the reader's requests therefore land in RESULTS, never on a subject of the
 * run, whatever reply subject it names.
 */
import { accountOf, recordImports, runSubjects } from "../bus/index.js";
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
  /** One node of a NATS cluster (JetStream clustered: the record stream can be replicated). */
  cluster?: ClusterOptions;
}

/**
 * The cluster block of one node. Routes authenticate with a shared user and password (only the
 * nodes know it; it is not a client identity), so no stranger can join the cluster as a route.
 */
export interface ClusterOptions {
  /** The cluster's name (the same on every node). */
  name: string;
  /** This node's unique name (JetStream's meta group needs one per node). */
  serverName: string;
  /** host:port this node accepts routes on. */
  listen: string;
  /** host:port of the other nodes' route listeners. */
  routes: readonly string[];
  user: string;
  password: string;
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
  const user = (id: RunIdentity & { publicKey: string }) => {
    const p = id.permissions;
    return [
      `      # ${id.name}`,
      "      {",
      `        nkey: ${q(id.publicKey)}`,
      "        permissions: {",
      `          publish: { allow: ${list(p.publish)} }`,
      `          subscribe: { allow: ${list(p.subscribe)} }`,
      "        }",
      "      }",
    ].join("\n");
  };
  const usersOf = (account: "RUN" | "RESULTS") =>
    o.identities
      .filter((id) => accountOf(id.identity) === account)
      .map(user)
      .join("\n");
  const imports = recordImports(runSubjects(o.runId));
  const tls = o.tls
    ? [
        "tls {",
        `  cert_file: ${q(o.tls.certFile)}`,
        `  key_file: ${q(o.tls.keyFile)}`,
        // A CA means clients must present a certificate signed by it (mutual TLS).
        ...(o.tls.caFile ? [`  ca_file: ${q(o.tls.caFile)}`, "  verify: true"] : []),
        "}",
      ]
    : [];
  return [
    `# nats-server configuration for stackelberg run ${o.runId}, written by \`stackelberg auth\`.`,
    "# Every component has its own nkey identity; permissions come from services/bus/permissions.ts.",
    `listen: ${q(o.listen)}`,
    `max_payload: ${o.maxPayload}`,
    ...(o.cluster ? [`server_name: ${q(o.cluster.serverName)}`] : []),
    "jetstream {",
    `  store_dir: ${q(o.storeDir)}`,
    "}",
    ...tls,
    ...clusterBlock(o.cluster),
    "accounts {",
    "  RUN: {",
    "    jetstream: enabled",
    "    users: [",
    usersOf("RUN"),
    "    ]",
    // Only RESULTS may import; a batched direct get answers with a stream of messages, all sent
    // within the client's 5 s, so the server may forget a request's reply route after 10 s.
    `    exports: [${imports.map((i) => `{ service: ${q(i.subject)}, response_type: stream, response_threshold: "10s", accounts: [RESULTS] }`).join(", ")}]`,
    "  }",
    "  RESULTS: {",
    "    users: [",
    usersOf("RESULTS"),
    "    ]",
    `    imports: [${imports.map((i) => `{ service: { account: RUN, subject: ${q(i.subject)} }, to: ${q(i.to)} }`).join(", ")}]`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The cluster block: route listener, route credentials, and the other nodes as routes. */
function clusterBlock(c: ClusterOptions | undefined): string[] {
  if (!c) return [];
  const auth = `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}`;
  return [
    "cluster {",
    `  name: ${q(c.name)}`,
    `  listen: ${q(c.listen)}`,
    `  authorization { user: ${q(c.user)}, password: ${q(c.password)}, timeout: 2 }`,
    `  routes: ${list(c.routes.map((r) => `nats-route://${auth}@${r}`))}`,
    "}",
  ];
}
