/**
 * `npm run convergence`: the convergence matrix of docs/convergence.md. Every learner kind on five
 * markets (linear duopoly; 1 leader + 2 followers; duopoly with asymmetric costs; 2 leaders + 2
 * followers with asymmetric costs; constant-elasticity duopoly), a few seeds each, one
 * `stackelberg run` at a time (every firm in its own process, default asynchronous mode), on an
 * experiment generated here: one set of settings per learner kind (taken from its experiments/
 * file), the same on every market. Each cell records the final distance to the reference
 * equilibrium, the final quantities, the wall time and the rows dropped.
 *
 * Results accumulate in docs/convergence.json (a partial run only replaces the cells it ran), and
 * docs/convergence.md is rendered from all of them. A run that fails or times out is a cell marked
 * failed with its error; the matrix goes on.
 *
 *   node dist/bench/convergence.js [--learners ppo,mappo] [--markets duopoly,ce] [--seeds 1,2,3]
 *                                  [--timeout 1200] [--render-only]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stringify } from "yaml";

export const LEARNERS = ["ppo", "mappo", "ddpg", "maddpg", "q-learning", "hedge"] as const;
export type LearnerKind = (typeof LEARNERS)[number];

interface FirmSpec {
  id: string;
  role: "leader" | "follower";
  c: number;
}
export interface MarketSpec {
  key: string;
  title: string;
  demand: Record<string, unknown>;
  quantityMax: number;
  firms: FirmSpec[];
}

const LINEAR = { kind: "linear", a: 100, b: 1 };

export const MARKETS: MarketSpec[] = [
  {
    key: "duopoly",
    title: "linear duopoly (P = 100 - Q, c = 10)",
    demand: LINEAR,
    quantityMax: 100,
    firms: [
      { id: "leader", role: "leader", c: 10 },
      { id: "follower", role: "follower", c: 10 },
    ],
  },
  {
    key: "1l2f",
    title: "1 leader + 2 followers (P = 100 - Q, c = 10)",
    demand: LINEAR,
    quantityMax: 100,
    firms: [
      { id: "leader", role: "leader", c: 10 },
      { id: "follower-1", role: "follower", c: 10 },
      { id: "follower-2", role: "follower", c: 10 },
    ],
  },
  {
    key: "asymmetric",
    title: "asymmetric duopoly (P = 100 - Q, leader c = 10, follower c = 20)",
    demand: LINEAR,
    quantityMax: 100,
    firms: [
      { id: "leader", role: "leader", c: 10 },
      { id: "follower", role: "follower", c: 20 },
    ],
  },
  {
    key: "2l2f",
    title: "2 leaders + 2 followers (P = 100 - Q, leaders c = 10, 15, followers c = 10, 15)",
    demand: LINEAR,
    quantityMax: 100,
    firms: [
      { id: "leader-1", role: "leader", c: 10 },
      { id: "leader-2", role: "leader", c: 15 },
      { id: "follower-1", role: "follower", c: 10 },
      { id: "follower-2", role: "follower", c: 15 },
    ],
  },
  {
    key: "ce",
    title: "constant-elasticity duopoly (P = 100 Q^(-1/2), c = 5, quantityMax 400)",
    demand: { kind: "constant-elasticity", A: 100, elasticity: 2 },
    quantityMax: 400,
    firms: [
      { id: "leader", role: "leader", c: 5 },
      { id: "follower", role: "follower", c: 5 },
    ],
  },
];

/** Settings per learner kind, the same on every market (from experiments/<kind>-*.yaml). */
interface LearnerSettings {
  batch: number;
  episodes: number;
  schedule: Record<string, unknown>;
  policy?: Record<string, unknown>;
  source: string;
}

/** PPO and MAPPO: three cycles of follower and leader phases (the later follower phases explore locally). */
const GRADIENT: Omit<LearnerSettings, "source"> = {
  batch: 256,
  episodes: 6020,
  schedule: { kind: "alternating", phaseRounds: 1000, evaluateRounds: 20, firstPhase: "train-followers", exploreWidth: 0.2 },
};

/** DDPG and MADDPG: the settings of experiments/ddpg-duopoly.yaml and maddpg-duopoly.yaml (three cycles of 500-round phases). */
const DETERMINISTIC_PG: Omit<LearnerSettings, "source"> = {
  batch: 256,
  episodes: 3020,
  schedule: { kind: "alternating", phaseRounds: 500, evaluateRounds: 20, firstPhase: "train-followers", exploreWidth: 0.2 },
  policy: { noise: 0.2, finalNoise: 0.05, net: { hidden: [32, 32], learningRate: 0.003 } },
};

export const SETTINGS: Record<LearnerKind, LearnerSettings> = {
  // splitInstances is the schedule's default; spelled out because only PPO honours it, so only
  // PPO's cells from before it existed are of older settings.
  ppo: { ...GRADIENT, schedule: { ...GRADIENT.schedule, splitInstances: true }, source: "experiments/ppo-two-leaders-two-followers.yaml" },
  mappo: { ...GRADIENT, source: "experiments/mappo-two-leaders-two-followers.yaml" },
  ddpg: { ...DETERMINISTIC_PG, source: "experiments/ddpg-duopoly.yaml" },
  maddpg: { ...DETERMINISTIC_PG, source: "experiments/maddpg-duopoly.yaml" },
  "q-learning": {
    batch: 1024,
    episodes: 820,
    schedule: { kind: "alternating", phaseRounds: 400, evaluateRounds: 20, firstPhase: "train-followers" },
    source: "experiments/q-learning-duopoly.yaml",
  },
  hedge: {
    batch: 256,
    episodes: 620,
    schedule: { kind: "alternating", phaseRounds: 300, evaluateRounds: 20, firstPhase: "train-followers" },
    source: "experiments/hedge-duopoly.yaml",
  },
};

/** The experiment of one cell (as a plain object, written as YAML by `stringify`). */
export function generateExperiment(learner: LearnerKind, market: MarketSpec): Record<string, unknown> {
  const s = SETTINGS[learner];
  return {
    name: `convergence-${learner}-${market.key}`,
    seed: 1,
    market: {
      demand: market.demand,
      batch: s.batch,
      roundsPerEpisode: 1,
      episodes: s.episodes,
      quantityMax: market.quantityMax,
      deadlineMs: 30000,
    },
    firms: market.firms.map((f) => ({
      id: f.id,
      role: f.role,
      cost: { kind: "linear", c: f.c },
      policy: { kind: learner, ...(s.policy ?? {}) },
    })),
    training: { objective: "profit", schedule: s.schedule },
  };
}

export interface CellResult {
  learner: string;
  market: string;
  seed: number;
  status: "ok" | "failed";
  /** Max relative distance to the reference equilibrium over firms (a fraction). */
  distance?: number;
  quantities?: Record<string, { quantity: number; equilibrium: number }>;
  droppedRows?: number;
  wallSeconds?: number;
  error?: string;
  date: string;
  /** The learner's settings the cell was run with (settingsKey); a cell of older settings is shown as such, not counted. */
  settings?: string;
}

/** A fingerprint of a learner kind's settings (what generateExperiment puts in every cell's file). */
export function settingsKey(learner: LearnerKind): string {
  const { source: _source, ...rest } = SETTINGS[learner];
  return JSON.stringify(rest);
}

/** Distance, quantities and rows dropped from a run's summary.json. */
export function parseSummary(summary: unknown): Pick<CellResult, "distance" | "quantities" | "droppedRows"> {
  const s = summary as {
    final?: { distance?: number; firms?: Record<string, { quantity: number; equilibriumQuantity: number }> };
    learners?: Record<string, { droppedRows?: number }>;
  };
  if (typeof s?.final?.distance !== "number") throw new Error("summary.json has no final.distance");
  const quantities: CellResult["quantities"] = {};
  for (const [id, f] of Object.entries(s.final.firms ?? {}))
    quantities[id] = { quantity: f.quantity, equilibrium: f.equilibriumQuantity };
  let dropped = 0;
  for (const l of Object.values(s.learners ?? {})) dropped += l.droppedRows ?? 0;
  return { distance: s.final.distance, quantities, droppedRows: dropped };
}

function parseList(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x.length > 0);
}

export interface Options {
  learners: LearnerKind[];
  markets: MarketSpec[];
  seeds: number[];
  timeoutSeconds: number;
  renderOnly: boolean;
}

export function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const learners = parseList(get("--learners")) ?? [...LEARNERS];
  for (const l of learners)
    if (!(LEARNERS as readonly string[]).includes(l)) throw new Error(`unknown learner ${l} (expected ${LEARNERS.join(", ")})`);
  const marketKeys = parseList(get("--markets")) ?? MARKETS.map((m) => m.key);
  const markets = marketKeys.map((k) => {
    const m = MARKETS.find((x) => x.key === k);
    if (!m) throw new Error(`unknown market ${k} (expected ${MARKETS.map((x) => x.key).join(", ")})`);
    return m;
  });
  const seedArg = get("--seeds");
  const seeds = seedArg === undefined ? [1, 2, 3] : (parseList(seedArg) ?? []).map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`bad --seeds ${seedArg}`);
  return {
    learners: learners as LearnerKind[],
    markets,
    seeds,
    timeoutSeconds: Number(get("--timeout") ?? 1800),
    renderOnly: argv.includes("--render-only"),
  };
}

const pct = (d: number) => `${(100 * d).toFixed(2)}%`;

/** What is known about the misses (kept by hand: update it with the measurements). */
const NOTES = [
  "Notes (measurements of 2026-11-30):",
  "",
  "- Cells marked \"older settings\" were run before the current settings; the figure shown is theirs",
  "  and is not counted.",
  "- `q-learning` and `hedge` with two followers (`1l2f`, `2l2f`): with their default settings the",
  "  followers' Cournot game between themselves does not settle (docs/learners.md: Hedge reaches it",
  "  with `eta: 2`; memoryless Q-learning followers do not), so those cells are far off by design of",
  "  the shared settings, not by a fault of the run.",
  "- `q-learning` and `hedge` on `asymmetric`: 1.00% is the grid (401 points over [0, 90]; the",
  "  leader's 50 lies between two points).",
  "- `ppo` on `1l2f` and `2l2f`: the firms that learn together (the two followers; in `2l2f` also the",
  "  two leaders) take turns over the instances (`splitInstances`, the schedule's default, honoured by",
  "  PPO): each explores and learns in its own share and plays its greedy quantity in the others', so",
  "  a follower's profit never carries the other follower's exploration noise, which its critic cannot",
  "  explain. Before it, with the same settings otherwise, PPO ended 1.98%, 3.33%, 6.44% off on `1l2f`",
  "  (this tool) and 1.10%, 4.32%, 1.02% on `2l2f` (`stackelberg run",
  "  experiments/ppo-two-leaders-two-followers.yaml`); docs/alternating.md. MAPPO, whose critic sees",
  "  the other follower's quantity, ignores the setting.",
  "- `ddpg` and `maddpg` outside the duopoly: where a cell misses, the leader ends about a unit short",
  "  of its Stackelberg quantity (49.1 against 50 on `asymmetric`), the followers' learned reaction",
  "  being a little too flat, so the followers' reply sits a little high; their settings were chosen",
  "  on the duopoly. Taking turns over the instances does not fix it: DDPG followers taking turns",
  "  (a trial build, not kept) ended 3.09%, 1.27%, 3.13% off on `1l2f`.",
  "- `ddpg` and `maddpg` on `2l2f` are far off (the issue asks for them on the duopoly only); the",
  "  MAPPO and PPO rows are the ones that reach it there.",
];

/** docs/convergence.md from every cell recorded so far. */
export function renderMarkdown(results: CellResult[], meta: { machine: string; command: string }): string {
  const seeds = [...new Set(results.map((r) => r.seed))].sort((a, b) => a - b);
  if (seeds.length === 0) seeds.push(1, 2, 3);
  const cell = (l: string, m: string, s: number) => results.find((r) => r.learner === l && r.market === m && r.seed === s);
  const dates = results.map((r) => r.date).sort();
  const lines: string[] = [];
  lines.push("# Convergence matrix");
  lines.push("");
  lines.push("Every learner on five markets, each seed one `stackelberg run` (every firm in its own process, local");
  lines.push("nats-server, default asynchronous mode). Distance: the run's `final.distance`, the largest relative");
  lines.push("distance of a firm's final quantity (mean over the last 20 rounds) to the reference (Stackelberg)");
  lines.push("equilibrium. Wall time: the whole `stackelberg run`, process start to exit. Rows dropped: the sum");
  lines.push("of the learners' `droppedRows`. One set of settings per learner kind, the same on every market");
  lines.push('(below). **Bold**: 2% or more off; "not run": no measurement yet.');
  lines.push("");
  lines.push("```");
  lines.push(meta.command);
  lines.push("```");
  lines.push("");
  lines.push(
    `Options: \`--learners ${LEARNERS.join(",")}\`, \`--markets ${MARKETS.map((m) => m.key).join(",")}\`, \`--seeds 1,2,3\`, \`--timeout SECONDS\`,`,
  );
  lines.push("`--render-only`. Cells accumulate in `docs/convergence.json`: a partial run replaces only the cells it ran.");
  lines.push("");
  lines.push(
    `Measured ${dates.length ? `${dates[0].slice(0, 16).replace("T", " ")} to ${dates[dates.length - 1].slice(0, 16).replace("T", " ")} UTC` : "(nothing yet)"} on ${meta.machine}.`,
  );
  lines.push("The machine was shared with other jobs, so wall times are indicative only.");
  lines.push("");
  lines.push("## Markets");
  lines.push("");
  for (const m of MARKETS) lines.push(`- \`${m.key}\`: ${m.title}`);
  lines.push("");
  lines.push("## Settings per learner");
  lines.push("");
  for (const l of LEARNERS) {
    const s = SETTINGS[l];
    const sc = s.schedule as { phaseRounds: number; evaluateRounds: number };
    const policy = s.policy ? `, policy ${JSON.stringify(s.policy)}` : "";
    const width = (s.schedule as { exploreWidth?: number }).exploreWidth;
    const split = (s.schedule as { splitInstances?: boolean }).splitInstances ? ", splitInstances" : "";
    lines.push(
      `- \`${l}\`: B = ${s.batch}, ${s.episodes} rounds, alternating schedule, ${sc.phaseRounds} rounds per phase, ${sc.evaluateRounds} evaluation rounds${width !== undefined ? `, exploreWidth ${width}` : ""}${split}${policy}, defaults otherwise (from ${s.source})`,
    );
  }
  lines.push("");
  lines.push("## Distance to equilibrium / wall time / rows dropped");
  lines.push("");
  lines.push(`| learner | market | ${seeds.map((s) => `seed ${s}`).join(" | ")} |`);
  lines.push(`|---|---|${seeds.map(() => "---|").join("")}`);
  const misses: string[] = [];
  for (const l of LEARNERS) {
    for (const m of MARKETS) {
      const cells = seeds.map((s) => {
        const r = cell(l, m.key, s);
        if (!r) return "not run";
        if (r.settings !== settingsKey(l))
          return `not run (older settings: ${r.status === "ok" ? pct(r.distance ?? Number.NaN) : "failed"})`;
        if (r.status === "failed") {
          misses.push(`${l} / ${m.key} / seed ${s}: failed`);
          return `failed: ${(r.error ?? "").replace(/\|/g, "/").replace(/\s+/g, " ").slice(0, 80)}`;
        }
        const d = r.distance ?? Number.NaN;
        const miss = !(d < 0.02) || (r.droppedRows ?? 0) > 0;
        if (miss)
          misses.push(
            `${l} / ${m.key} / seed ${s}: ${pct(d)}${(r.droppedRows ?? 0) > 0 ? `, ${r.droppedRows} rows dropped` : ""}`,
          );
        const ds = d < 0.02 ? pct(d) : `**${pct(d)}**`;
        return `${ds} / ${(r.wallSeconds ?? 0).toFixed(0)} s / ${r.droppedRows ?? 0}`;
      });
      lines.push(`| ${l} | ${m.key} | ${cells.join(" | ")} |`);
    }
  }
  lines.push("");
  lines.push("## Cells that miss 2% (or failed)");
  lines.push("");
  if (misses.length === 0) lines.push("None among the cells run.");
  for (const x of misses) lines.push(`- ${x}`);
  lines.push("");
  lines.push(...NOTES, "");
  lines.push("## Final quantities (equilibrium)");
  lines.push("");
  lines.push("| learner | market | seed | quantities |");
  lines.push("|---|---|---|---|");
  for (const l of LEARNERS)
    for (const m of MARKETS)
      for (const s of seeds) {
        const r = cell(l, m.key, s);
        if (r?.status !== "ok" || !r.quantities || r.settings !== settingsKey(l)) continue;
        const q = Object.entries(r.quantities)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, v]) => `${id} ${v.quantity.toFixed(2)} (${v.equilibrium.toFixed(2)})`)
          .join(", ");
        lines.push(`| ${l} | ${m.key} | ${s} | ${q} |`);
      }
  lines.push("");
  return lines.join("\n");
}

function runOnce(
  cli: string,
  file: string,
  seed: number,
  out: string,
  timeoutSeconds: number,
): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, "run", file, "--seed", String(seed), "--out", out], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let err = "";
    p.stderr.on("data", (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    const timer = setTimeout(() => {
      err += `\ntimed out after ${timeoutSeconds} s`;
      try {
        if (p.pid !== undefined) process.kill(-p.pid, "SIGTERM");
      } catch {
        p.kill("SIGTERM");
      }
    }, timeoutSeconds * 1000);
    p.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message });
    });
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true });
      else {
        const last =
          err
            .trim()
            .split("\n")
            .filter((l) => l.trim().length > 0)
            .slice(-1)[0] ?? "";
        resolve({ ok: false, error: `exit ${code ?? signal}: ${extractMessage(last)}` });
      }
    });
  });
}

function extractMessage(line: string): string {
  try {
    const j = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return j.err?.message ?? j.msg ?? line;
  } catch {
    return line;
  }
}

async function main(): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const root = join(here, "..", "..");
  const cli = join(here, "..", "services", "cli", "main.js");
  const jsonPath = join(root, "docs", "convergence.json");
  const mdPath = join(root, "docs", "convergence.md");
  const opts = parseArgs(process.argv.slice(2));
  let results: CellResult[] = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, "utf8")) as CellResult[]) : [];
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version} (${hostname()})`;
  const command = "npm run convergence            # = npm run build && node dist/bench/convergence.js";
  const key = (c: CellResult) => `${c.learner}/${c.market}/${c.seed}`;
  const mine = new Set<string>();
  const save = () => {
    // Another run of this tool (other learners or markets) may have saved cells since: merge, so
    // that runs side by side never overwrite each other's cells.
    if (existsSync(jsonPath)) {
      const onDisk = JSON.parse(readFileSync(jsonPath, "utf8")) as CellResult[];
      const ours = results.filter((c) => mine.has(key(c)));
      results = [...onDisk.filter((c) => !mine.has(key(c))), ...ours];
    }
    // Written whole, then renamed into place: a run reading it meanwhile never sees half a file.
    const tmp = `${jsonPath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(results, null, 1)}\n`);
    renameSync(tmp, jsonPath);
    writeFileSync(mdPath, renderMarkdown(results, { machine, command }));
  };
  if (opts.renderOnly) {
    save();
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "stk-convergence-"));
  try {
    for (const learner of opts.learners)
      for (const market of opts.markets) {
        const file = join(work, `${learner}-${market.key}.yaml`);
        writeFileSync(file, stringify(generateExperiment(learner, market)));
        for (const seed of opts.seeds) {
          const out = join(work, `${learner}-${market.key}-${seed}`);
          mkdirSync(out, { recursive: true });
          const t0 = performance.now();
          const date = new Date().toISOString();
          const r = await runOnce(cli, file, seed, out, opts.timeoutSeconds);
          const wallSeconds = (performance.now() - t0) / 1000;
          let cellResult: CellResult;
          const settings = settingsKey(learner);
          if (!r.ok)
            cellResult = { learner, market: market.key, seed, status: "failed", error: r.error, wallSeconds, date, settings };
          else
            try {
              const parsed = parseSummary(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")));
              cellResult = { learner, market: market.key, seed, status: "ok", ...parsed, wallSeconds, date, settings };
            } catch (e) {
              cellResult = {
                learner,
                market: market.key,
                seed,
                status: "failed",
                error: (e as Error).message,
                wallSeconds,
                date,
                settings,
              };
            }
          results = results.filter((x) => !(x.learner === learner && x.market === market.key && x.seed === seed));
          results.push(cellResult);
          mine.add(key(cellResult));
          save();
          const d = cellResult.status === "ok" ? pct(cellResult.distance ?? Number.NaN) : `failed (${cellResult.error})`;
          console.log(
            `${learner} ${market.key} seed ${seed}: ${d}, ${wallSeconds.toFixed(1)} s, rows dropped ${cellResult.droppedRows ?? "-"}`,
          );
          rmSync(out, { recursive: true, force: true });
        }
      }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
