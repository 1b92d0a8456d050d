/**
 * `npm run ctde`: CTDE-trained versus independently trained firms under decentralized execution.
 * For each learner pair (MAPPO vs PPO by default) and seed: `stackelberg run` trains the firms of
 * the experiment file (every firm in its own process, default asynchronous mode), then
 * `stackelberg evaluate` replays the trained policies frozen and greedy with the training subject
 * withheld (the server lets no firm read it). Each row reports the evaluation's distance to the
 * Stackelberg equilibrium, each firm's quantity and profit against the equilibrium's, and the
 * training wall time. Results go to docs/studies/ctde.json and a table in docs/studies/ctde.md
 * (between the generated-table markers).
 *
 *   node dist/bench/ctde.js [--experiments mappo-two-leaders-two-followers,ppo-two-leaders-two-followers]
 *                           [--seeds 1,2,3] [--rounds 100] [--out runs/ctde] [--reuse]
 *
 * --reuse: a seed whose trained run folder already holds a finished run of the same settings
 * (its config.yaml resolves to the experiment file's market, firms and training with that seed,
 * and still to the settings.json the run recorded when it started) is not trained again, only
 * evaluated; a folder of other settings, or without settings.json, is refused.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadExperiment } from "../services/config/index.js";
import { checkRunSettings, resolvedSettings, settingsDiff } from "../services/config/settings.js";
import { ConfigError } from "../services/errors.js";

interface FirmResult {
  quantity: number;
  equilibriumQuantity: number;
  profit: number;
  equilibriumProfit: number;
}
export interface CtdeRow {
  experiment: string;
  seed: number;
  trainSeconds: number;
  trainDistance: number;
  evalDistance: number;
  firms: Record<string, FirmResult>;
  error?: string;
}

interface SummaryLike {
  wallSeconds: number;
  final: { distance: number; firms: Record<string, FirmResult> };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL("../services/cli/main.js", import.meta.url));
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_FORMAT: "json" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    p.once("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const summaryOf = (stdout: string): SummaryLike =>
  (JSON.parse(stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1) ?? "{}") as { summary: SummaryLike }).summary;

export function renderTable(rows: CtdeRow[]): string {
  const lines = [
    "| experiment | seed | distance (evaluation) | distance (training's final window) | firms: quantity / profit (equilibrium) | training wall time |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.experiment} | ${r.seed} | failed: ${r.error} | | | |`);
      continue;
    }
    const firms = Object.entries(r.firms)
      .map(([id, f]) => `${id} ${f.quantity.toFixed(2)} / ${f.profit.toFixed(1)} (${f.equilibriumQuantity.toFixed(2)} / ${f.equilibriumProfit.toFixed(1)})`)
      .join("; ");
    const pct = (d: number) => `${(100 * d).toFixed(2)}%`;
    lines.push(`| ${r.experiment} | ${r.seed} | ${pct(r.evalDistance)} | ${pct(r.trainDistance)} | ${firms} | ${r.trainSeconds.toFixed(0)} s |`);
  }
  return lines.join("\n");
}

/**
 * --reuse: true when `trained` holds a finished run (summary.json) whose config resolves to the
 * same market, firms and training as `file` with `seed`, and still to the settings it was trained
 * with (its settings.json); throws when it holds one of other settings, or one that cannot be
 * checked.
 */
function sameSettings(trained: string, file: string, seed: number): boolean {
  if (!existsSync(join(trained, "summary.json")) || !existsSync(join(trained, "config.yaml"))) return false;
  const run = loadExperiment(join(trained, "config.yaml"));
  // The run must still read as it did when it was trained (no default changed under it) ...
  checkRunSettings(trained, run, "--reuse", true);
  // ... and be the experiment file's settings with this seed.
  const diff = settingsDiff(resolvedSettings(run), resolvedSettings(loadExperiment(file)));
  if (run.seed !== seed || diff.length > 0)
    throw new ConfigError(`--reuse: ${trained} was trained with other settings (${run.seed !== seed ? `seed ${run.seed}` : diff.join(", ")}) than ${file} --seed ${seed}; run without --reuse`);
  return true;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : dflt;
  };
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const experiments = opt("experiments", "mappo-two-leaders-two-followers,ppo-two-leaders-two-followers").split(",");
  const seeds = opt("seeds", "1,2,3").split(",").map(Number);
  const rounds = opt("rounds", "100");
  const reuse = argv.includes("--reuse");
  const outRoot = opt("out", join(root, "runs", "ctde"));
  const jsonFile = join(root, "docs", "studies", "ctde.json");
  const rows: CtdeRow[] = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, "utf8")) as CtdeRow[]) : [];
  for (const experiment of experiments)
    for (const seed of seeds) {
      const file = join(root, "experiments", `${experiment}.yaml`);
      const trained = join(outRoot, `${experiment}-s${seed}`);
      const evaluated = `${trained}-evaluation`;
      const kept = reuse && sameSettings(trained, file, seed);
      if (!kept) rmSync(trained, { recursive: true, force: true });
      rmSync(evaluated, { recursive: true, force: true });
      mkdirSync(outRoot, { recursive: true });
      process.stderr.write(`${kept ? "reusing the trained run of" : "training"} ${experiment} seed ${seed}\n`);
      const row: CtdeRow = { experiment, seed, trainSeconds: Number.NaN, trainDistance: Number.NaN, evalDistance: Number.NaN, firms: {} };
      const t = kept
        ? { code: 0, stdout: JSON.stringify({ summary: JSON.parse(readFileSync(join(trained, "summary.json"), "utf8")) }), stderr: "" }
        : await cli(["run", file, "--seed", String(seed), "--out", trained, "--json"]);
      if (t.code !== 0) row.error = `training exit ${t.code}: ${t.stderr.trim().split("\n").at(-1) ?? ""}`;
      else {
        const ts = summaryOf(t.stdout);
        row.trainSeconds = ts.wallSeconds;
        row.trainDistance = ts.final.distance;
        process.stderr.write(`evaluating ${experiment} seed ${seed}\n`);
        const e = await cli(["evaluate", trained, "--rounds", rounds, "--out", evaluated, "--json"]);
        if (e.code !== 0) row.error = `evaluation exit ${e.code}: ${e.stderr.trim().split("\n").at(-1) ?? ""}`;
        else {
          const es = summaryOf(e.stdout);
          row.evalDistance = es.final.distance;
          for (const [id, f] of Object.entries(es.final.firms))
            row.firms[id] = { quantity: f.quantity, equilibriumQuantity: f.equilibriumQuantity, profit: f.profit, equilibriumProfit: f.equilibriumProfit };
        }
      }
      const k = rows.findIndex((r) => r.experiment === experiment && r.seed === seed);
      if (k >= 0) rows[k] = row;
      else rows.push(row);
      rows.sort((a, b) => a.experiment.localeCompare(b.experiment) || a.seed - b.seed);
      writeFileSync(jsonFile, `${JSON.stringify(rows, null, 2)}\n`);
      process.stderr.write(`${renderTable([row])}\n`);
    }
  const md = join(root, "docs", "studies", "ctde.md");
  if (existsSync(md)) {
    const text = readFileSync(md, "utf8");
    const begin = "<!-- ctde table: generated by npm run ctde -->";
    const end = "<!-- end ctde table -->";
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i >= 0 && j > i) writeFileSync(md, `${text.slice(0, i + begin.length)}\n${renderTable(rows)}\n${text.slice(j)}`);
  }
  process.stdout.write(`${renderTable(rows)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    // A refused setting is one line; anything else keeps its stack for whoever debugs the bench.
    process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  });
}
