import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadExperiment } from "../../services/config/index.js";
import { resolvedSettings } from "../../services/config/settings.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";

describe("cli", () => {
  it("cli - solve prints the hand-checkable duopoly equilibrium", async () => {
    const p = spawnCli(["solve", "experiments/duopoly-linear.yaml", "--json"]);
    expect(await p.exit).toBe(0);
    const eq = JSON.parse(p.output());
    const byId = Object.fromEntries(eq.stackelberg.firms.map((f: { id: string }) => [f.id, f]));
    expect(byId.leader.quantity).toBeCloseTo(45, 9);
    expect(byId.follower.quantity).toBeCloseTo(22.5, 9);
    expect(eq.stackelberg.price).toBeCloseTo(32.5, 9);
    expect(byId.leader.profit).toBeCloseTo(1012.5, 9);
    expect(byId.follower.profit).toBeCloseTo(506.25, 9);
    const table = spawnCli(["solve", "experiments/duopoly-linear.yaml"]);
    expect(await table.exit).toBe(0);
    expect(table.output()).toMatch(/leader\s+leader\s+0\s+45\s+1012.5/);
  });

  it("cli - a bad config exits non-zero with every bad field and no stack trace", async () => {
    const file = writeExperiment({
      market: { demand: { kind: "linear", a: 100, b: -1 } },
      firms: [{ id: "f", role: "follower", cost: { kind: "linear", c: 1 }, policy: { kind: "telepathy" } }],
    });
    for (const cmd of [["solve", file], ["run", file]]) {
      const p = spawnCli(cmd);
      expect(await p.exit).toBe(2);
      const out = p.output();
      expect(out).toMatch(/market\.demand\.b: expected a number > 0/);
      expect(out).toMatch(/firms\[0\]\.policy\.kind/);
      expect(out).toMatch(/firms\[0\]\.role: a follower needs a leader/);
      expect(out).not.toMatch(/\n\s+at /);
    }
  });

  it("cli - a missing file and a missing argument are clear errors", async () => {
    const p = spawnCli(["solve", "no/such/file.yaml"]);
    expect(await p.exit).toBe(2);
    expect(p.output()).toMatch(/cannot read experiment file no\/such\/file.yaml/);
    const q = spawnCli(["solve"]);
    expect(await q.exit).not.toBe(0);
    expect(q.output()).toMatch(/missing required argument/);
  });

  it("cli - security flags: no credentials, contradictory flags and a bad run id are one-line errors", async () => {
    const base = ["--config", "experiments/duopoly-linear.yaml", "--nats", "nats://127.0.0.1:1"];
    const cases: Array<[string[], RegExp]> = [
      [["market", ...base, "--run", "r1"], /no credentials: pass --creds FILE .* or --insecure/],
      [["firm", ...base, "--run", "r1", "--firm", "leader"], /no credentials: pass --creds FILE/],
      [["market", ...base, "--run", "r1", "--creds", "x.nk", "--insecure"], /--creds and --insecure contradict/],
      [["market", ...base, "--run", "bad.run id", "--insecure"], /run id "bad.run id" must be 1-64 characters/],
      [["market", ...base, "--run", "r1", "--creds", "no/such.nk"], /--creds no\/such.nk: cannot read it/],
      [["market", ...base, "--run", "r1", "--insecure", "--tls-ca", "ca.pem"], /need a tls:\/\/ server URL/],
      [["run", "experiments/duopoly-linear.yaml", "--nats", "nats://127.0.0.1:1"], /no credentials/],
      [["run", "experiments/duopoly-linear.yaml", "--insecure"], /--auth and --insecure go with --nats/],
    ];
    for (const [args, want] of cases) {
      const p = spawnCli(args);
      expect(await p.exit, args.join(" ")).toBe(2);
      expect(p.output(), args.join(" ")).toMatch(want);
      expect(p.output()).not.toMatch(/\n\s+at /);
      expect(p.output().trim().split("\n")).toHaveLength(1);
    }
  });

  it("cli - auth writes a server config and one 0600 credentials file per component", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "stk-auth-cli-")), "auth");
    const p = spawnCli(["auth", "experiments/duopoly-linear.yaml", "--out", out, "--run", "demo-1", "--listen", "0.0.0.0:4333"]);
    expect(await p.exit).toBe(0);
    expect(p.output()).toMatch(/run demo-1: credentials for 4 components/);
    for (const f of ["market.nk", "reader.nk", "firm-leader.nk", "firm-follower.nk"]) {
      expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(out, f), "utf8")).toMatch(/^SU[A-Z2-7]+\n$/);
    }
    const conf = readFileSync(join(out, "server.conf"), "utf8");
    expect(conf).toMatch(/listen: "0.0.0.0:4333"/);
    expect(conf).toMatch(/max_payload: 65536/);
    expect(conf.match(/nkey: "U[A-Z2-7]+"/g)).toHaveLength(4);
    // No secret in the server config or the manifest.
    const manifestText = readFileSync(join(out, "auth.json"), "utf8");
    for (const f of ["market.nk", "reader.nk", "firm-leader.nk", "firm-follower.nk"]) {
      const seed = readFileSync(join(out, f), "utf8").trim();
      expect(conf).not.toContain(seed);
      expect(manifestText).not.toContain(seed);
    }
    const manifest = JSON.parse(readFileSync(join(out, "auth.json"), "utf8"));
    expect(manifest.runId).toBe("demo-1");
    // A second auth into the same folder is refused instead of overwriting credentials in use.
    const again = spawnCli(["auth", "experiments/duopoly-linear.yaml", "--out", out]);
    expect(await again.exit).toBe(2);
    expect(again.output()).toMatch(/already holds credentials/);
  });

  it("cli - unwritable auth folders and a corrupt run folder are one-line errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-cli-"));
    writeFileSync(join(dir, "afile"), "x");
    writeFileSync(join(dir, "run.json"), "{ not json");
    // A run folder whose config.yaml no longer resolves as it did when the run started (as when a
    // default changed between versions) is refused before anything starts.
    const changed = mkdtempSync(join(tmpdir(), "stk-cli-"));
    writeFileSync(join(changed, "run.json"), JSON.stringify({ runId: "changed-1" }));
    copyFileSync("experiments/ppo-duopoly-alternating.yaml", join(changed, "config.yaml"));
    const now = resolvedSettings(loadExperiment(join(changed, "config.yaml"))) as { training: { schedule: Record<string, unknown> } };
    now.training.schedule.exploreWidth = 1;
    writeFileSync(join(changed, "settings.json"), JSON.stringify(now));
    const cases: Array<[string[], RegExp]> = [
      [["auth", "experiments/duopoly-linear.yaml", "--out", join(dir, "afile", "auth")], /cannot write credentials to .*: ENOTDIR/],
      [["auth", "experiments/duopoly-linear.yaml", "--out", join(dir, "a"), "--listen", "nowhere"], /--listen nowhere: expected host:port/],
      [["run", "--resume", dir], /run.json is not readable JSON/],
      [["run", "--resume", changed], /resolves to other settings than the run started with \(training\.schedule\.exploreWidth\)/],
    ];
    for (const [args, want] of cases) {
      const p = spawnCli(args);
      expect(await p.exit, args.join(" ")).toBe(2);
      expect(p.output(), args.join(" ")).toMatch(want);
      expect(p.output().trim().split("\n")).toHaveLength(1);
    }
  });
});
