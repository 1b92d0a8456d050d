/** The command line for people and for scripts: help with examples, --json and --quiet, pipes closed early. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, killLeftovers, ROOT, spawnCli, writeExperiment } from "../fixtures/cli.js";

afterEach(killLeftovers);

const COMMANDS = ["solve", "run", "evaluate", "report", "compare", "auth", "market", "firm", "conformance"];

const tiny = () =>
  writeExperiment({
    name: "tiny",
    seed: 1,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2, episodes: 20, quantityMax: 100 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    ],
  });

/** Runs the CLI with its stdout and stderr apart. */
function runApart(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    p.once("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe("cli output", () => {
  it("cli - `solve --json` into a pipe its reader closed exits 0 without a stack trace", async () => {
    for (const args of [
      ["solve", "experiments/duopoly-linear.yaml", "--json"],
      ["solve", "experiments/three-tiers-nonlinear.yaml"],
    ]) {
      // The reader goes away before the command writes (as `| head -1` does after its line).
      const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      p.stdout.destroy();
      let stderr = "";
      p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((r) => p.once("exit", r));
      expect(code).toBe(0);
      expect(stderr).toBe("");
    }
  });

  it("cli - every command's --help shows an example; the main help lists the exit codes", async () => {
    const main = await runApart(["--help"]);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Exit codes:\n\s+0\s+success[\s\S]*\n\s+2\s+bad usage[\s\S]*\n\s+130\s+interrupted/);
    for (const c of COMMANDS) expect(main.stdout).toContain(`  ${c}`);
    for (const c of COMMANDS) {
      const h = await runApart([c, "--help"]);
      expect(h.code, `${c} --help`).toBe(0);
      expect(h.stdout, `${c} --help`).toMatch(new RegExp(`Examples?:\\n\\s+\\$ (stackelberg ${c}|nats-server)`));
    }
    // A usage error exits with 2, like any other bad input.
    const bad = await runApart(["report"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/missing required argument 'dir'/);
  }, 120_000);

  it("cli - run --json prints one JSON object (summary, output folder, report); --quiet prints nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-cli-out-"));
    const json = await runApart(["run", tiny(), "--out", join(dir, "a"), "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as {
      out: string;
      report: string;
      summary: { rounds: number; final: { distance: number } };
    };
    expect(out.out).toBe(join(dir, "a"));
    expect(out.summary.rounds).toBe(20);
    expect(out.summary.final.distance).toBeLessThan(1e-9);
    expect(existsSync(out.report)).toBe(true);
    expect(existsSync(join(dir, "a", "metrics.csv"))).toBe(true);
    // Warnings only on stderr: no progress bar, no info lines.
    expect(json.stderr).not.toMatch(/"level":30/);
    const quiet = await runApart(["run", tiny(), "--out", join(dir, "b"), "--quiet"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe("");
    expect(existsSync(join(dir, "b", "report.html"))).toBe(true);
    const report = await runApart(["report", join(dir, "b"), "--quiet"]);
    expect(report.code).toBe(0);
    expect(report.stdout).toBe("");
    const text = await runApart(["report", join(dir, "b")]);
    expect(text.stdout).toMatch(/^report: .*report\.html \(\d+ KB, 5 charts\)\n$/);
    expect(readFileSync(join(dir, "b", "report.html"), "utf8")).toContain("tiny: run report");
  }, 120_000);

  it("cli - report and compare on a folder that is not a finished run: one line, exit 2", async () => {
    const empty = mkdtempSync(join(tmpdir(), "stk-cli-empty-"));
    for (const args of [
      ["report", empty],
      ["compare", empty, "--out", join(empty, "c.html")],
      ["report", join(empty, "missing")],
    ]) {
      const p = spawnCli(args);
      expect(await p.exit).toBe(2);
      expect(p.output()).toMatch(/^stackelberg: .*(summary\.json is missing|no such folder)/);
      expect(p.output()).not.toMatch(/\n\s+at /);
    }
  });
});
