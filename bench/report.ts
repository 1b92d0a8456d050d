/**
 * Report size and load time for a long run: synthesizes the output folder of a 200,000-round run
 * (config.yaml, summary.json, run.json and a metrics.jsonl of the launcher's schema, with noisy
 * learning curves over an alternating schedule), writes its report as `stackelberg report` does,
 * and opens it in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
 * `node dist/bench/report.js` prints the figures; `npm run bench` (BENCH_SECTIONS=report for this
 * part alone) puts them in BENCHMARKS.md.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { Rng } from "../market/economics/rng.js";
import { evaluationRoundsOf, parseExperiment } from "../services/config/index.js";
import { equilibriaFor, referenceFor } from "../services/report/equilibria.js";
import { finalWindowOf, type RoundMetrics, relDistance, SummaryBuilder } from "../services/report/metrics.js";
import { writeRunReport } from "../services/report/report.js";
import { runVersions } from "../services/report/run-data.js";

/** Where the tests and the bench find Chromium (Debian's package; never a downloaded build). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The experiment of the synthetic run: a duopoly on an alternating schedule (phases to shade). */
export function syntheticExperiment(rounds: number) {
  return {
    name: "report-bench",
    seed: 1,
    market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 1, episodes: rounds, quantityMax: 100 },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
      { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    ],
    training: {
      schedule: {
        kind: "alternating",
        phaseRounds: Math.max(1, Math.floor(rounds / 8)),
        evaluateRounds: Math.floor(rounds / 10),
      },
    },
  };
}

/**
 * Writes the output folder of a finished `rounds`-round run into `dir`: the launcher's files, with
 * quantities that start far off and approach the equilibrium with noise (a learning run's shape).
 */
export function synthesizeRun(dir: string, rounds: number): void {
  mkdirSync(dir, { recursive: true });
  const raw = syntheticExperiment(rounds);
  writeFileSync(join(dir, "config.yaml"), stringify(raw));
  const exp = parseExperiment(raw);
  const eq = equilibriaFor(exp);
  const reference = referenceFor(exp);
  writeFileSync(join(dir, "equilibrium.json"), `${JSON.stringify({ ...eq, reference }, null, 2)}\n`);
  const runId = "report-bench-000000";
  writeFileSync(
    join(dir, "run.json"),
    `${JSON.stringify({ runId, config: "report-bench.yaml", started: new Date().toISOString(), versions: runVersions() }, null, 2)}\n`,
  );
  const star = Object.fromEntries(eq.stackelberg.firms.map((f) => [f.id, f.quantity]));
  const evaluation = evaluationRoundsOf(exp.training.schedule, exp.market.totalRounds);
  const summary = new SummaryBuilder(eq, rounds, reference, finalWindowOf(rounds, 1, evaluation));
  const rng = Rng.fromName(1, "report-bench");
  const fd = openSync(join(dir, "metrics.jsonl"), "w");
  let chunk = "";
  for (let t = 0; t < rounds; t++) {
    const decay = Math.exp(-t / (rounds / 6));
    const noise = 0.3 + 6 * decay;
    const firms: RoundMetrics["firms"] = {};
    let total = 0;
    let distance = 0;
    const qs: Record<string, number> = {};
    for (const id of ["follower", "leader"]) {
      const q = Math.max(0, star[id]! * (1 + 0.5 * decay * (id === "leader" ? -1 : 1)) + noise * rng.normal());
      qs[id] = q;
      total += q;
    }
    const price = Math.max(0, 100 - total);
    for (const id of ["follower", "leader"]) {
      const d = relDistance(qs[id]!, star[id]!);
      distance = Math.max(distance, d);
      firms[id] = { quantityMean: qs[id]!, profitMean: (price - 10) * qs[id]!, absent: false, distance: d };
    }
    const m: RoundMetrics = { round: t, episode: t, step: 0, priceMean: price, firms, distance };
    summary.add(m);
    chunk += `${JSON.stringify(m)}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = "";
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  const s = summary.build(exp.name, runId, rounds / 1500, 1, {}, evaluation);
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify(s, null, 2)}\n`);
}

/** What Chromium made of a report. */
export interface BrowserLoad {
  /** Navigation to the load event, ms, each load in a fresh page. */
  loadMs: number[];
  /** Data marks (paths of the charts' line, area, point and rule marks) per chart. */
  marks: Record<string, number>;
  errors: string[];
}

/** Opens `file` in headless Chromium `loads` times; optionally screenshots it. */
export async function loadInChromium(file: string, loads = 3, screenshot?: string): Promise<BrowserLoad> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does, as root)`);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
  });
  const out: BrowserLoad = { loadMs: [], marks: {}, errors: [] };
  try {
    for (let k = 0; k < loads; k++) {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on("console", (m) => {
        if (m.type() === "error") out.errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => out.errors.push(`page: ${e.message}`));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) out.errors.push(`request: ${r.url()}`);
      });
      const t0 = performance.now();
      await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
      out.loadMs.push(performance.now() - t0);
      if (k === loads - 1) {
        out.marks = await page.$$eval("figure.chart", (figs) =>
          Object.fromEntries(
            figs.map((f) => [
              f.getAttribute("data-chart") ?? "",
              [...f.querySelectorAll("svg g.role-mark path")].filter((p) => (p.getAttribute("d") ?? "").length > 2).length,
            ]),
          ),
        );
        if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

/** The BENCHMARKS.md section: report size and load time of a 200,000-round run. */
export async function reportSection(rounds = Number(process.env.BENCH_REPORT_ROUNDS ?? 200_000)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "stk-report-bench-"));
  try {
    synthesizeRun(dir, rounds);
    const metricsBytes = statSync(join(dir, "metrics.jsonl")).size;
    const t0 = performance.now();
    const r = await writeRunReport(dir);
    const writeS = (performance.now() - t0) / 1000;
    const b = await loadInChromium(r.file, 5);
    const sorted = [...b.loadMs].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    process.stdout.write(
      `report of ${rounds} rounds: ${r.bytes} bytes, written in ${writeS.toFixed(2)} s, Chromium load ${b.loadMs.map((x) => x.toFixed(0)).join(", ")} ms, marks ${JSON.stringify(b.marks)}${b.errors.length > 0 ? `, errors ${b.errors.join("; ")}` : ""}\n`,
    );
    const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
    return [
      `\n## Report (\`stackelberg report\`, ${rounds.toLocaleString("en-US")}-round run)\n`,
      `A synthetic ${rounds.toLocaleString("en-US")}-round run folder (metrics.jsonl in the launcher's schema, 2 firms, noisy learning curves, alternating schedule; \`bench/report.ts\`): the report written from it as \`stackelberg report\` does (metrics streamed once, downsampled on the fly to at most 1,000 points per series), then opened ${b.loadMs.length} times in headless Chromium (Debian's, via playwright-core), each in a fresh page, timed from navigation to the load event. Limits: under 5 MB, opens in under 3 s.\n`,
      "| rounds | metrics.jsonl (MB) | report.html (MB) | charts | writing the report (s) | Chromium load, median (ms) | loads (ms) |",
      "|---:|---:|---:|---:|---:|---:|---|",
      `| ${rounds} | ${mb(metricsBytes)} | ${mb(r.bytes)} | ${r.charts.length} | ${writeS.toFixed(2)} | ${median.toFixed(0)} | ${b.loadMs.map((x) => x.toFixed(0)).join(", ")} |`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/report.js`: print the figures without touching BENCHMARKS.md.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  for (const l of await reportSection()) process.stdout.write(`${l}\n`);
