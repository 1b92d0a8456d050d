/**
 * Deployments as a user types them on separate machines: `stackelberg auth` writes the server
 * configuration and credentials, nats-server runs from that configuration, and the components
 * connect with their own credentials, over TLS or through `run --nats URL --auth DIR`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startNatsServer, type LocalNats } from "../../services/launcher/nats-server.js";
import { readRecord } from "../../services/report/record.js";
import { killLeftovers, spawnCli, writeExperiment } from "../fixtures/cli.js";

const raw = {
  name: "deploy",
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 3, episodes: 40, deadlineMs: 5000 },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
};

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
afterEach(killLeftovers);

/** A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made with openssl. */
function makePki() {
  const dir = mkdtempSync(join(tmpdir(), "stk-pki-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", f("ca.key"), "-out", f("ca.pem"));
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", f(`${name}.ext`), "-out", f(`${name}.pem`));
  }
  return { ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key") };
}

async function auth(args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "stk-deploy-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const p = spawnCli(["auth", writeExperiment(raw), "--out", join(dir, "auth"), ...args]);
  expect(await p.exit, p.output()).toBe(0);
  return dir;
}

async function serve(dir: string): Promise<LocalNats> {
  const s = await startNatsServer({ configFile: join(dir, "auth", "server.conf") });
  cleanup.push(() => s.stop());
  return s;
}

describe("deploy", () => {
  it("deploy - market and firms on a mutual-TLS server configured by `stackelberg auth`, each with its own credentials", async () => {
    const pki = makePki();
    const authDir = await auth(["--run", "tls-1", "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-ca", pki.ca]);
    const server = await serve(authDir);
    const url = `tls://127.0.0.1:${server.port}`;
    const cfg = writeExperiment(raw);
    const tls = ["--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey];
    const common = ["--config", cfg, "--nats", url, "--run", "tls-1", ...tls, "--creds", join(authDir, "auth")];
    const market = spawnCli(["market", ...common]);
    const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...common, "--firm", id]));
    const codes = await Promise.all([market.exit, ...firms.map((f) => f.exit)]);
    expect(codes, market.output()).toEqual([0, 0, 0]);
    const seed = new TextEncoder().encode(readFileSync(join(authDir, "auth", "reader.nk"), "utf8").trim());
    const reader = { servers: url, reconnect: false, inboxPrefix: "_INBOX.stk.tls-1.reader", authenticator: nkeyAuthenticator(seed) };
    // Plain TCP, and TLS without a client certificate, are refused.
    await expect(connect({ servers: `nats://127.0.0.1:${server.port}`, reconnect: false, tls: null })).rejects.toThrow();
    await expect(connect({ ...reader, tls: { caFile: pki.ca } })).rejects.toThrow();
    const nc = await connect({ ...reader, tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey } });
    const record = await readRecord(nc, "tls-1", { asReader: true });
    await nc.close();
    expect(record).toHaveLength(40);
    expect(Array.from(record[39]?.prices ?? []).map((p) => Math.round(p * 1e6) / 1e6)).toEqual([32.5, 32.5, 32.5]);
  });

  it("deploy - `run --nats tls://... --auth DIR` passes the TLS files to every component", async () => {
    const pki = makePki();
    const authDir = await auth(["--run", "tls-2", "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-ca", pki.ca]);
    const server = await serve(authDir);
    const url = `tls://127.0.0.1:${server.port}`;
    const tls = ["--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey];
    const run = spawnCli(["run", writeExperiment(raw), "--nats", url, "--auth", join(authDir, "auth"), ...tls, "--out", join(authDir, "out"), "--no-progress"]);
    expect(await run.exit, run.output()).toBe(0);
    expect(run.output()).toMatch(/run tls-2: 40 rounds/);
  });

  it("deploy - `run --nats URL --auth DIR` runs against a server secured by `stackelberg auth`, under the auth folder's run id", async () => {
    const authDir = await auth(["--run", "ext-1"]);
    const server = await serve(authDir);
    const out = join(authDir, "out");
    const run = spawnCli(["run", writeExperiment(raw), "--nats", server.url, "--auth", join(authDir, "auth"), "--out", out, "--no-progress"]);
    expect(await run.exit, run.output()).toBe(0);
    expect(run.output()).toMatch(/run ext-1: 40 rounds/);
    expect(run.output()).toMatch(/leader: quantity 45\.0000/);
    // Without credentials the same server refuses the launcher.
    const bare = spawnCli(["run", writeExperiment(raw), "--nats", server.url, "--insecure", "--no-progress", "--out", join(authDir, "out2")]);
    expect(await bare.exit).toBe(2);
    expect(bare.output()).toMatch(/stackelberg: the NATS server at .* refused this component's credentials/);
  });
});
