/**
 * Firms written in other languages against the TypeScript market and leader, with credentials:
 * the Go best-response follower (clients/go/cmd/br-follower) and the Python one
 * (clients/python, `python -m stackelberg.examples.br_follower`, from the project's .venv that
 * scripts/test.sh sets up) play every round of every instance at the Stackelberg equilibrium.
 */
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExperiment } from "../../services/config/index.js";
import { equilibriaFor } from "../../services/report/equilibria.js";
import { readRecord } from "../../services/report/record.js";
import { killLeftovers, ROOT, type Spawned, spawnCli, spawnProcess, writeExperiment } from "../fixtures/cli.js";
import { type SecureRun, startSecureRun } from "../fixtures/secure.js";

const raw = {
  name: "outside",
  market: { demand: { kind: "linear", a: 120, b: 1.5 }, batch: 16, episodes: 150, deadlineMs: 5000 },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 12 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 9 }, policy: { kind: "best-response" } },
  ],
};
const exp = parseExperiment(raw);

afterEach(killLeftovers);

describe("outside agents", () => {
  let bin: string;
  const dirs: string[] = [];
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "stk-go-"));
    dirs.push(dir);
    bin = join(dir, "br-follower");
    execFileSync("go", ["build", "-o", bin, "./cmd/br-follower"], { cwd: join(ROOT, "clients", "go"), stdio: "pipe" });
  }, 180_000);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Plays the run with the TypeScript market and leader and `follower` as the follower; checks every instance. */
  async function play(runId: string, follower: (sec: SecureRun) => Spawned): Promise<void> {
    const sec: SecureRun = await startSecureRun(exp, runId);
    try {
      const cfg = writeExperiment(raw);
      const args = ["--config", cfg, "--nats", sec.url, "--run", runId];
      const market = spawnCli(["market", ...args, "--creds", sec.creds("market")]);
      const leader = spawnCli(["firm", ...args, "--firm", "leader", "--creds", sec.creds("firm-leader")]);
      const f = follower(sec);
      const codes = await Promise.all([market.exit, leader.exit, f.exit]);
      expect(codes, `${market.output()}\n${f.output()}`).toEqual([0, 0, 0]);
      const eq = equilibriaFor(exp).stackelberg;
      const want = exp.firms.map((x) => eq.firms.find((y) => y.id === x.id)!.quantity);
      const spy = await sec.connectSpy();
      const record = await readRecord(spy, runId);
      await spy.close();
      expect(record).toHaveLength(150);
      for (const o of record) {
        expect(o.absent ?? []).not.toContain(true);
        const q = o.quantities ?? [];
        exp.firms.forEach((_, k) => {
          for (let i = 0; i < 16; i++) expect(Math.abs((q[k * 16 + i] as number) - want[k]!), `round ${o.round} firm ${k}`).toBeLessThan(1e-9 * want[k]!);
        });
      }
    } finally {
      await sec.stop();
    }
  }

  it("outside agents - the Go follower plays every round of every instance at the equilibrium (1e-9), with its own credentials", async () => {
    await play("outside-go", (sec) => spawnProcess(bin, ["--nats", sec.url, "--run", "outside-go", "--firm", "follower", "--creds", sec.creds("firm-follower")]));
  });

  it("outside agents - the Python follower plays every round of every instance at the equilibrium (1e-9), with its own credentials", async () => {
    const python = join(ROOT, ".venv", "bin", "python");
    if (!existsSync(python)) throw new Error(`${python} is missing: run \`npm test\` (scripts/test.sh sets up .venv with clients/python)`);
    await play("outside-py", (sec) =>
      spawnProcess(python, ["-m", "stackelberg.examples.br_follower", "--nats", sec.url, "--run", "outside-py", "--firm", "follower", "--creds", sec.creds("firm-follower")]),
    );
  });
});
