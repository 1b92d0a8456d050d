/**
 * What a report shows of one run, read from its output folder in bounded memory: the summary, the
 * experiment, the equilibria, and metrics.jsonl streamed once into a downsampled series (a few
 * hundred points however long the run; services/report/downsample.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Phase, phasesOf } from "../config/phases.js";
import { type Experiment, loadExperiment } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { type Bucket, Downsampler } from "./downsample.js";
import type { Summary } from "./metrics.js";
import { fileLines, metricsRows } from "./metrics-files.js";

/** Software versions a run was made with (run.json `versions`). */
export interface RunVersions {
  stackelberg: string;
  node: string;
  tfjs?: string;
}

/** The versions of this installation (recorded in run.json when a run starts). */
export function runVersions(): RunVersions {
  const tfjs = moduleVersion("@tensorflow/tfjs");
  return { stackelberg: packageVersion(), node: process.version, ...(tfjs ? { tfjs } : {}) };
}

/**
 * The installed version of package `name`: its package.json in the nearest node_modules above this
 * file (read directly: packages whose `exports` hide their package.json cannot be require()d).
 */
export function moduleVersion(name: string): string | undefined {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 8; k++) {
    const f = join(d, "node_modules", name, "package.json");
    if (existsSync(f)) {
      try {
        return (JSON.parse(readFileSync(f, "utf8")) as { version?: string }).version;
      } catch {
        return undefined;
      }
    }
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return undefined;
}

/** This package's version, from the package.json above this file (source or dist). */
export function packageVersion(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 5; k++) {
    const f = join(d, "package.json");
    if (existsSync(f)) {
      const p = JSON.parse(readFileSync(f, "utf8")) as { name?: string; version?: string };
      if (p.name === "stackelberg-market") return p.version ?? "unknown";
    }
    d = dirname(d);
  }
  return "unknown";
}

/** Columns of the downsampled series: price, distance, then per firm quantity, profit, distance. */
export function seriesIndex(firms: readonly string[]) {
  return {
    price: 0,
    distance: 1,
    quantity: (f: number) => 2 + 3 * f,
    profit: (f: number) => 3 + 3 * f,
    firmDistance: (f: number) => 4 + 3 * f,
    count: 2 + 3 * firms.length,
  };
}

export interface RunData {
  dir: string;
  exp: Experiment;
  summary: Summary;
  run: { runId?: string; started?: string; versions?: RunVersions };
  /** Firm ids (sorted: the metrics' order). */
  firms: string[];
  /** Downsampled metrics (columns: seriesIndex). */
  buckets: Bucket[];
  /** Rows read from metrics.jsonl. */
  rows: number;
  phases: Phase[];
  /** The tfjs backend each learner reported in its log, by firm. */
  backends: Record<string, string>;
}

function readJson<T>(file: string, what: string): T {
  if (!existsSync(file)) throw new ConfigError(`${file} is missing: ${what}`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (err) {
    throw new ConfigError(`${file} is not readable JSON (${(err as Error).message})`);
  }
}

/** Most points of one series in a report, whatever the run's length, shared out among the firms. */
export function capacityFor(firms: number, budget = 4000): number {
  const c = Math.floor(budget / Math.max(1, firms + 1) / 2) * 2;
  return Math.min(1000, Math.max(100, c));
}

/** Reads a run's output folder (summary.json, config.yaml, metrics.jsonl, run.json, logs). */
export async function loadRun(dir: string, capacity?: number): Promise<RunData> {
  if (!existsSync(dir)) throw new ConfigError(`${dir}: no such folder`);
  const summary = readJson<Summary>(
    join(dir, "summary.json"),
    "not a finished run's output folder (`stackelberg run` writes summary.json at the end)",
  );
  // Summaries written before the reference block compared with the stage equilibrium.
  summary.reference ??= {
    kind: "stage-equilibrium",
    description: "equilibrium of the one-shot stage game at the episode-start state",
    priceByStep: [],
    firms: {},
  };
  const cfg = join(dir, "config.yaml");
  if (!existsSync(cfg)) throw new ConfigError(`${cfg} is missing: not a run's output folder`);
  const exp = loadExperiment(cfg);
  const run = existsSync(join(dir, "run.json")) ? readJson<RunData["run"]>(join(dir, "run.json"), "") : {};
  const metricsFile = join(dir, "metrics.jsonl");
  if (!existsSync(metricsFile)) throw new ConfigError(`${metricsFile} is missing: not a run's output folder`);
  const firms = exp.firms.map((f) => f.id);
  const ix = seriesIndex(firms);
  const ds = new Downsampler(ix.count, capacity ?? capacityFor(firms.length));
  const v = new Float64Array(ix.count);
  for (const m of metricsRows(metricsFile)) {
    v[ix.price] = m.priceMean;
    v[ix.distance] = m.distance;
    firms.forEach((id, f) => {
      const r = m.firms[id];
      v[ix.quantity(f)] = r?.quantityMean ?? Number.NaN;
      v[ix.profit(f)] = r?.profitMean ?? Number.NaN;
      v[ix.firmDistance(f)] = r?.distance ?? Number.NaN;
    });
    ds.push(m.round, v);
  }
  return {
    dir,
    exp,
    summary,
    run,
    firms,
    buckets: ds.buckets(),
    rows: ds.count,
    phases: phasesOf(exp),
    backends: await learnerBackends(dir, firms),
  };
}

/** The tfjs backend each firm's learner logged ("tensorflow backend ready"), from the head of its log. */
async function learnerBackends(dir: string, firms: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of firms) {
    const log = join(dir, "logs", `firm-${id}.log`);
    if (!existsSync(log)) continue;
    let n = 0;
    for (const line of fileLines(log)) {
      // The learner says so while it starts: the first lines are enough.
      if (++n > 500) break;
      if (!line.includes('"backend"')) continue;
      try {
        const b = (JSON.parse(line) as { backend?: unknown }).backend;
        if (typeof b === "string") {
          out[id] = b;
          break;
        }
      } catch {
        // not a JSON line (a pretty-printed log): no backend to read
      }
    }
  }
  return out;
}
