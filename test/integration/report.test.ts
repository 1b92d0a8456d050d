/**
 * Reports end to end: `stackelberg run` writes report.html at its end, `stackelberg report` and
 * `stackelberg compare` write them from run folders, and headless Chromium (Debian's, driven by
 * playwright-core, no network) opens them: every chart has data marks, no console error, a
 * screenshot beside the report.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInChromium, synthesizeRun } from "../../bench/report.js";
import { CLI, ROOT, writeExperiment } from "../fixtures/cli.js";


const ppoDuopoly = (seed: number) =>
  writeExperiment({
    name: "ppo-report",
    seed,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 32, episodes: 60, quantityMax: 100, deadlineMs: 30000 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 20, evaluateRounds: 10 }, deterministic: true },
  });

/** Two Cournot firms with learning-by-doing costs over 4-round episodes, one valuing the episode. */
const valuationRun = () =>
  writeExperiment({
    name: "valuation-report",
    seed: 1,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 4, roundsPerEpisode: 4, episodes: 10, quantityMax: 100 },
    firms: [
      {
        id: "forward",
        role: "leader",
        cost: { kind: "learning-by-doing", c0: 40, cMin: 10, rate: 0.01 },
        objective: "valuation",
        discount: 0.95,
        policy: { kind: "best-response" },
      },
      {
        id: "myopic",
        role: "leader",
        cost: { kind: "learning-by-doing", c0: 40, cMin: 10, rate: 0.01 },
        policy: { kind: "best-response" },
      },
    ],
  });

/** Runs the CLI; returns its stdout (stderr only in the error when it fails). */
async function run(args: string[]): Promise<string> {
  const p = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((r) => p.once("exit", r));
  if (code !== 0) throw new Error(`stackelberg ${args.join(" ")} exited ${code}:\n${stderr}`);
  // Nothing to say on stderr when all went well (no warnings from the charts either).
  expect(stderr).toBe("");
  return stdout;
}

/** The inert JSON block of a report (what its charts show). */
function reportData(file: string): Record<string, unknown> {
  const html = readFileSync(file, "utf8");
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error(`${file} has no report-data block`);
  return JSON.parse(m[1]!.replaceAll("<\\/", "</")) as Record<string, unknown>;
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\n");
}

const root = mkdtempSync(join(tmpdir(), "stk-report-"));
const ppo4 = join(root, "ppo-4");
const ppo5 = join(root, "ppo-5");
const val = join(root, "valuation");

describe("report", () => {
  it("report - a learning run writes report.html at its end: every chart renders with data in Chromium, no console error, a screenshot", async () => {
    await run(["run", ppoDuopoly(4), "--out", ppo4, "--no-progress"]);
    const file = join(ppo4, "report.html");
    expect(existsSync(file)).toBe(true);
    // No script, no fetch: the page forbids both.
    const html = readFileSync(file, "utf8");
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(html).not.toMatch(/(src|href)="https?:/);
    // metrics.csv beside metrics.jsonl: the same rows, learner columns merged at the end.
    const csv = lines(join(ppo4, "metrics.csv"));
    expect(csv).toHaveLength(lines(join(ppo4, "metrics.jsonl")).length + 1);
    expect(csv[0]).toMatch(/^round,episode,step,priceMean,distance,follower\.quantityMean,/);
    expect(csv[0]).toContain("learners.follower.explorationStd");
    const shot = join(ppo4, "report.png");
    const b = await loadInChromium(file, 1, shot);
    expect(b.errors).toEqual([]);
    expect(Object.keys(b.marks)).toEqual(["quantity", "price", "profit", "distance", "reaction"]);
    for (const [name, n] of Object.entries(b.marks)) expect(n, `data marks of chart ${name}`).toBeGreaterThan(0);
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    // The follower's saved PPO policy, evaluated over the leader's range, next to the true best response.
    const data = reportData(file) as { reactions: { firmId: string; x: number[]; learned?: number[]; bestResponse: number[] }[] };
    expect(data.reactions).toHaveLength(1);
    const r = data.reactions[0]!;
    expect(r.firmId).toBe("follower");
    expect(r.learned).toHaveLength(r.x.length);
    for (const q of r.learned!) expect(q).toBeGreaterThanOrEqual(0);
    // Best response to the leader's Stackelberg quantity (45): 22.5; to nothing: 45.
    expect(r.bestResponse[0]).toBeCloseTo(45, 6);
    expect(r.bestResponse[Math.round((45 / 100) * (r.x.length - 1))]).toBeCloseTo(22.5, 6);
  }, 180_000);

  it("report - a valuation run shows quantity by step of the episode; `stackelberg report` writes it again", async () => {
    await run(["run", valuationRun(), "--out", val, "--no-progress"]);
    const out = JSON.parse(await run(["report", val, "--json"])) as {
      file: string;
      bytes: number;
      charts: string[];
      notes: string[];
    };
    expect(out.file).toBe(join(val, "report.html"));
    expect(out.charts).toEqual(["quantity", "price", "profit", "distance", "by-step"]);
    const b = await loadInChromium(out.file, 1, join(val, "report.png"));
    expect(b.errors).toEqual([]);
    for (const [name, n] of Object.entries(b.marks)) expect(n, `data marks of chart ${name}`).toBeGreaterThan(0);
    // Two Cournot firms: no follower, and the report says so instead of a reaction chart.
    expect(readFileSync(out.file, "utf8")).toContain("No follower in this run");
    const data = reportData(out.file) as { charts: { "by-step": { x: number; series: string; kind: string }[] } };
    const steps = data.charts["by-step"].filter((p) => p.series === "forward" && p.kind.startsWith("learned")).map((p) => p.x);
    expect(steps).toEqual([0, 1, 2, 3]);
  }, 120_000);

  it("compare - runs side by side: seeds of one experiment as a band, another experiment as its own line", async () => {
    await run(["run", ppoDuopoly(5), "--out", ppo5, "--no-progress"]);
    const file = join(root, "comparison.html");
    const out = JSON.parse(await run(["compare", ppo4, ppo5, val, "--out", file, "--json"])) as { charts: string[] };
    expect(out.charts).toEqual([
      "distance",
      "quantity-follower",
      "quantity-forward",
      "quantity-leader",
      "quantity-myopic",
      "price",
    ]);
    const b = await loadInChromium(file, 1, join(root, "comparison.png"));
    expect(b.errors).toEqual([]);
    for (const [name, n] of Object.entries(b.marks)) expect(n, `data marks of chart ${name}`).toBeGreaterThan(0);
    const html = readFileSync(file, "utf8");
    expect(html).toContain("ppo-report (2 runs, seeds 4, 5): mean ± sd");
    const data = reportData(file) as { charts: { distance: { series: string; lo: number | null; hi: number | null }[] } };
    const ppo = data.charts.distance.filter((r) => r.series.startsWith("ppo-report"));
    const single = data.charts.distance.filter((r) => r.series === "valuation-report");
    expect(ppo.length).toBeGreaterThan(10);
    expect(single.length).toBeGreaterThan(10);
    // Two seeds: a band (min-max over the seeds); one run: a line alone.
    expect(ppo.some((r) => r.lo !== null && r.hi !== null && r.hi > r.lo)).toBe(true);
    expect(single.every((r) => r.lo === null && r.hi === null)).toBe(true);
  }, 180_000);

  it("report - the report of a 200,000-round run is under 5 MB and opens in Chromium in under 3 s", async () => {
    const dir = join(root, "long");
    synthesizeRun(dir, 200_000);
    const out = JSON.parse(await run(["report", dir, "--json"])) as { file: string; bytes: number; charts: string[] };
    expect(out.bytes).toBeLessThan(5 * 1024 * 1024);
    const b = await loadInChromium(out.file, 3, join(dir, "report.png"));
    expect(b.errors).toEqual([]);
    for (const [name, n] of Object.entries(b.marks)) expect(n, `data marks of chart ${name}`).toBeGreaterThan(0);
    const median = [...b.loadMs].sort((x, y) => x - y)[1]!;
    expect(median).toBeLessThan(3000);
  }, 180_000);
});
