/**
 * `stackelberg conformance` against real agents on the real nats-server it starts: the Go and the
 * Python best-response followers pass every check; agents with one deliberate fault each fail the
 * check named for it (and only where the fault shows); an agent started by hand from the printed
 * connection details passes too; bad usage exits with 2. The checks include the refusal session
 * after the scenario (`register.refused`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConformanceReport } from "../../services/conformance/index.js";
import { REFUSAL_CHECK, SCENARIO } from "../../services/conformance/index.js";
import { killLeftovers, ROOT, spawnCli, spawnProcess } from "../fixtures/cli.js";

const AGENT = join(ROOT, "test", "fixtures", "conformance-agent.mjs");
const FIRM_FLAGS = ["--nats", "{nats}", "--run", "{run}", "--firm", "{firm}", "--tier", "{tier}", "--creds", "{creds}"];
const NAMES = [...SCENARIO.map((s) => s.name), REFUSAL_CHECK.name];
const INVALID_MOVE_CHECKS = NAMES.filter((n) => n.startsWith("invalid-move."));

afterEach(killLeftovers);

describe("conformance", () => {
  const dirs: string[] = [];
  let goBin: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "stk-conf-go-"));
    dirs.push(dir);
    goBin = join(dir, "br-follower");
    execFileSync("go", ["build", "-o", goBin, "./cmd/br-follower"], { cwd: join(ROOT, "clients", "go"), stdio: "pipe" });
  }, 180_000);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Runs the check with `flags` and the agent command; returns its exit code, output and report.json. */
  async function check(flags: string[], agent: string[]): Promise<{ code: number; output: string; report: ConformanceReport }> {
    const out = mkdtempSync(join(tmpdir(), "stk-conf-"));
    dirs.push(out);
    const p = spawnCli(["conformance", ...flags, "--out", out, "--", ...agent]);
    const code = await p.exit;
    const file = join(out, "report.json");
    if (!existsSync(file)) throw new Error(`no report.json (exit ${code}):\n${p.output()}`);
    return { code, output: p.output(), report: JSON.parse(readFileSync(file, "utf8")) as ConformanceReport };
  }

  const statuses = (r: ConformanceReport) => Object.fromEntries(r.checks.map((c) => [c.name, c.status]));
  const failing = (r: ConformanceReport) => r.checks.filter((c) => c.status !== "pass").map((c) => c.name);
  const detailOf = (r: ConformanceReport, name: string) => r.checks.find((c) => c.name === name)?.detail ?? "";

  it("conformance - the Go best-response follower passes every check (text report, exit 0)", async () => {
    const { code, output, report } = await check(["--role", "follower"], [goBin, ...FIRM_FLAGS]);
    expect(code, output).toBe(0);
    expect(report.checks.map((c) => c.name)).toEqual(NAMES);
    expect(failing(report), output).toEqual([]);
    expect(report.agent?.exit).toBe("code 0");
    for (const name of NAMES) expect(output).toMatch(new RegExp(`✓ ${name.replace(".", "\\.")}\\s`));
    expect(output).toMatch(`conformance: all ${NAMES.length} checks passed`);
  });

  it("conformance - the Python best-response follower passes every check", async () => {
    const python = join(ROOT, ".venv", "bin", "python");
    if (!existsSync(python))
      throw new Error(`${python} is missing: run \`npm test\` (scripts/test.sh sets up .venv with clients/python)`);
    const { code, output, report } = await check(
      ["--role", "follower", "--batch", "8"],
      [python, "-m", "stackelberg.examples.br_follower", ...FIRM_FLAGS],
    );
    expect(failing(report), output).toEqual([]);
    expect(code).toBe(0);
    expect(report.batch).toBe(8);
  });

  it("conformance - the Python learning follower (numpy, phase-aware) passes every check", async () => {
    const python = join(ROOT, ".venv", "bin", "python");
    if (!existsSync(python))
      throw new Error(`${python} is missing: run \`npm test\` (scripts/test.sh sets up .venv with clients/python)`);
    const { code, output, report } = await check(["--role", "follower"], [python, "-m", "stackelberg.examples.learning_follower", ...FIRM_FLAGS]);
    expect(failing(report), output).toEqual([]);
    expect(code).toBe(0);
  });

  it("conformance - the TypeScript template agent (examples/outside-agent.ts, built into dist/) passes every check", async () => {
    const { code, output, report } = await check(
      ["--role", "follower"],
      [process.execPath, join(ROOT, "dist", "examples", "outside-agent.js"), "{nats}", "{run}", "{firm}", "{tier}", "22.5", "{creds}"],
    );
    expect(failing(report), output).toEqual([]);
    expect(code).toBe(0);
  });

  it("conformance - an agent submitting B - 1 quantities fails `rounds`, naming the round and the batch (exit 1)", async () => {
    const { code, report } = await check(
      ["--role", "follower", "--deadline-ms", "300"],
      ["node", AGENT, "--fault", "wrong-batch"],
    );
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(statuses(report).rounds).toBe("fail");
    expect(detailOf(report, "rounds")).toMatch(
      /^submission for round 0 carried 3 quantities, the run's batch is 4 \(WRONG_BATCH\)/,
    );
    // Registration was right, and so is its end of the run.
    expect(statuses(report)).toMatchObject({ "register.preparing": "pass", "register.ready": "pass", "end-of-run.exit": "pass" });
  });

  it("conformance - an agent that ignores END_OF_RUN fails `end-of-run.silent` (it answers the stray move request) and `end-of-run.exit`, and is stopped", async () => {
    const { code, report } = await check(["--role", "follower"], ["node", AGENT, "--fault", "ignore-end"]);
    expect(code).toBe(1);
    expect(failing(report)).toEqual(["end-of-run.silent", "end-of-run.exit"]);
    expect(detailOf(report, "end-of-run.silent")).toMatch(/^it submitted for round \d+ after END_OF_RUN/);
    expect(detailOf(report, "end-of-run.exit")).toMatch(/still running 5 s after END_OF_RUN/);
    expect(report.agent?.exit).toBeNull(); // the check had to stop it
  });

  it("conformance - an agent that crashes on a junk move request fails `junk-move`; the end of the run is not run", async () => {
    const { code, report } = await check(["--role", "follower"], ["node", AGENT, "--fault", "crash-on-junk"]);
    expect(code).toBe(1);
    expect(failing(report)).toEqual(["junk-move", ...INVALID_MOVE_CHECKS, "end-of-run.silent", "end-of-run.exit"]);
    expect(detailOf(report, "junk-move")).toMatch(
      /the agent exited \(code 3\) in this step; its output ends: .*cannot decode a move request/,
    );
    expect(statuses(report)).toMatchObject({ "end-of-run.silent": "skip", "end-of-run.exit": "skip" });
    // The refusal session starts the agent afresh: it exits non-zero when refused.
    expect(statuses(report)[REFUSAL_CHECK.name]).toBe("pass");
  });

  it("conformance - an agent answering move requests that decode but do not match the run fails each `invalid-move.*`", async () => {
    const { code, report } = await check(["--role", "follower"], ["node", AGENT, "--fault", "answers-invalid"]);
    expect(code).toBe(1);
    expect(INVALID_MOVE_CHECKS).toEqual([
      "invalid-move.batch",
      "invalid-move.committed",
      "invalid-move.observation",
      "invalid-move.non-finite",
      "invalid-move.not-named",
    ]);
    expect(failing(report)).toEqual(INVALID_MOVE_CHECKS);
    expect(detailOf(report, "invalid-move.batch")).toMatch(
      /^it answered a move request with batch 5, the run's batch is 4: a firm drops a move request that does not match the run .*\(round \d+\)$/,
    );
    expect(detailOf(report, "invalid-move.committed")).toMatch(/committed quantities were one fewer than its firms x B \(4\).* \(and 1 more\)$/);
    expect(detailOf(report, "invalid-move.observation")).toMatch(/with 4 observation values, the run has 0 observation columns/);
    expect(detailOf(report, "invalid-move.non-finite")).toMatch(/with NaN among its committed quantities.* \(and 1 more\)$/);
    expect(detailOf(report, "invalid-move.not-named")).toMatch(/did not name it in tier_firm_ids/);
  });

  it("conformance - an agent still answering after END_OF_RUN fails `end-of-run.silent` (a stray move request follows END_OF_RUN)", async () => {
    const { code, report } = await check(["--role", "follower"], ["node", AGENT, "--fault", "answers-after-end"]);
    expect(code).toBe(1);
    expect(failing(report)).toEqual(["end-of-run.silent"]);
    expect(detailOf(report, "end-of-run.silent")).toMatch(/^it submitted for round \d+ after END_OF_RUN: a firm stops at the end of the run$/);
  });

  it("conformance - an agent that ignores a refused registration fails `register.refused` and is stopped", async () => {
    const { code, report } = await check(["--role", "follower"], ["node", AGENT, "--fault", "ignores-refusal"]);
    expect(code).toBe(1);
    expect(failing(report)).toEqual([REFUSAL_CHECK.name]);
    expect(detailOf(report, REFUSAL_CHECK.name)).toMatch(
      /^still running 5 s after its Register was refused \(NOT_IN_RUN\) \(it registered \d+ times: registering again will not help\)/,
    );
  });

  it("conformance - registration faults: ready without preparing first; a reply inbox outside the firm's own", async () => {
    const skip = await check(["--role", "follower"], ["node", AGENT, "--fault", "skip-preparing"]);
    expect(failing(skip.report)).toEqual(["register.preparing"]);
    expect(detailOf(skip.report, "register.preparing")).toMatch(/first Register had preparing = false/);
    const inbox = await check(["--role", "follower", "--wait", "5"], ["node", AGENT, "--fault", "wrong-inbox"]);
    expect(inbox.code).toBe(1);
    expect(detailOf(inbox.report, "register.preparing")).toMatch(
      /reply on "_INBOX\.elsewhere\..*", outside its own inbox _INBOX\.stk\.conformance-/,
    );
    expect(inbox.report.passed).toBe(0);
  });

  it("conformance - a leader agent (the check simulates the follower) passes every check", async () => {
    const { code, report } = await check(["--role", "leader"], ["node", AGENT]);
    expect(failing(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({ role: "leader", tier: 0, firm: "leader" });
  });

  it("conformance - without an agent command it prints the connection details and checks an agent started by hand", async () => {
    const p = spawnCli(["conformance", "--role", "follower", "--firm", "by-hand", "--wait", "30"]);
    let env: Record<string, string> | undefined;
    for (let i = 0; i < 100 && !env; i++) {
      const line = p.output().match(/environment +(.+)\n/)?.[1];
      if (line) env = Object.fromEntries(line.split(" ").map((kv) => kv.split("=") as [string, string]));
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(env, p.output()).toMatchObject({ STK_FIRM_ID: "by-hand", STK_TIER: "1", STK_ROLE: "follower" });
    expect(p.output()).toMatch(/credentials +\/.+\/auth\/firm-by-hand\.nk/);
    const agent = spawnProcess(process.execPath, [AGENT], env);
    expect(await p.exit, p.output()).toBe(0);
    expect(await agent.exit).toBe(0);
    expect(p.output()).toMatch(/- end-of-run\.exit +not checked: the agent was started by hand/);
    expect(p.output()).toMatch(/- register\.refused +not checked: the agent was started by hand/);
    expect(p.output()).toMatch(`conformance: all ${NAMES.length - 2} checks passed, 2 not run`);
  });

  it("conformance - bad usage is a one-line error with exit code 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--role", "leader", "--tier", "1"], /--tier 1: a leader moves in tier 0/],
      [["--role", "follower", "--tier", "0"], /a follower moves in tier 1 or later/],
      [["--role", "referee"], /--role must be leader or follower/],
      [["--role", "follower", "--batch", "0"], /--batch must be an integer in \[1, 65536\]/],
      [["--role", "follower", "--firm", "sim-leader"], /belongs to a simulated firm/],
      [["--role", "follower", "--", "/no/such/agent"], /agent command \/no\/such\/agent: cannot start it \(ENOENT\)/],
    ];
    for (const [args, want] of cases) {
      const p = spawnCli(["conformance", ...args]);
      expect(await p.exit, args.join(" ")).toBe(2);
      expect(p.output(), args.join(" ")).toMatch(want);
      expect(p.output().trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    const missing = spawnCli(["conformance", "--batch", "4"]);
    expect(await missing.exit).toBe(2);
    expect(missing.output()).toMatch(/required option '--role <role>' not specified/);
  });
});
