import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";

const slowRun = (name: string) =>
  writeExperiment({
    name,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 1, episodes: 1_000_000, quantityMax: 100, deadlineMs: 500 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 22.5 } },
    ],
  });

/** Pids of live processes whose command line contains `needle`. */
function pidsWith(needle: string): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="]).toString();
  return out
    .split("\n")
    .filter((l) => l.includes(needle) && !l.includes("ps -eo"))
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((p) => Number.isFinite(p));
}

async function waitFor(pred: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("launcher", () => {
  it("launcher - a dying firm process stops the run with a clear message and a non-zero exit", async () => {
    const out = mkdtempSync(join(tmpdir(), "stk-die-"));
    const run = spawnCli(["run", slowRun("dying-firm"), "--out", out, "--no-progress"]);
    await waitFor(() => existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").length > 0);
    const victims = pidsWith(`${out}/config.yaml`).filter((p) => pidsWith("--firm follower").includes(p));
    expect(victims.length).toBe(1);
    process.kill(victims[0]!, "SIGKILL");
    const code = await run.exit;
    expect(code).not.toBe(0);
    expect(run.output()).toMatch(/firm-follower process exited with SIGKILL/);
    await waitFor(() => pidsWith(`${out}/`).length === 0, 10_000);
  });

  it("launcher - Ctrl-C stops every child and the local nats-server, exit code 130", async () => {
    const out = mkdtempSync(join(tmpdir(), "stk-int-"));
    const run = spawnCli(["run", slowRun("interrupted"), "--out", out, "--no-progress"]);
    await waitFor(() => existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").length > 0);
    expect(pidsWith(`${out}/`).length).toBeGreaterThanOrEqual(4); // nats-server, market, two firms
    run.proc.kill("SIGINT");
    expect(await run.exit).toBe(130);
    expect(run.output()).toMatch(/interrupted/);
    await waitFor(() => pidsWith(`${out}/`).length === 0, 10_000);
  });
});
