/**
 * The table of docs/studies/learned-vs-exact.md: for each run folder, the learned final outcome
 * (summary.json: mean over the final window) next to the stage game's exact Stackelberg, Cournot
 * and collusive outcomes, the distance to the run's reference and to each concept, and wall time.
 *
 *   node dist/bench/study-table.js DIR... [--times FILE] [--json]
 *
 * --times: a tab-separated file of `<run folder name> <exit code> <seconds>` lines (the whole
 * `stackelberg run`, process start to exit); without it only the summary's wall time is shown.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

interface EqFirm {
  id: string;
  quantity: number;
  profit: number;
}
interface Eq {
  firms: EqFirm[];
  price: number;
}
interface Summary {
  experiment: string;
  rounds: number;
  wallSeconds: number;
  final: {
    priceMean: number;
    distance: number;
    firms: Record<string, { quantity: number; profit: number; equilibriumQuantity: number }>;
  };
  reference: { kind: string };
  equilibria: { stackelberg: Eq; cournot: Eq; collusive: Eq };
}

export interface StudyRow {
  dir: string;
  experiment: string;
  policies: string;
  schedule: string;
  seed: number;
  rounds: number;
  referenceKind: string;
  firms: { id: string; learned: number; stackelberg: number; cournot: number; collusive: number; reference: number }[];
  price: { learned: number; stackelberg: number; cournot: number; collusive: number };
  /** Largest relative distance over firms of the final quantities to the run's reference (summary.json). */
  distance: number;
  /** The same distance to the stage game's Stackelberg and Cournot outcomes; to the collusive one, of the total quantity. */
  toStackelberg: number;
  toCournot: number;
  toCollusive: number;
  wallSeconds: number;
  commandSeconds?: number;
}

/** max over firms of |q - q*| / q* (|q| where q* = 0). */
export function maxRelDistance(learned: Record<string, number>, target: readonly EqFirm[]): number {
  let worst = 0;
  for (const f of target) {
    const q = learned[f.id];
    if (q === undefined) continue;
    const d = f.quantity === 0 ? Math.abs(q) : Math.abs(q - f.quantity) / Math.abs(f.quantity);
    worst = Math.max(worst, d);
  }
  return worst;
}

/**
 * |Q - Q*| / Q* of the total quantity: the collusive outcome's split between firms is arbitrary
 * where costs tie (the solver may give one firm everything), its total is not.
 */
export function totalDistance(learned: Record<string, number>, target: Eq): number {
  const Q = Object.values(learned).reduce((a, q) => a + q, 0);
  const Qs = target.firms.reduce((a, f) => a + f.quantity, 0);
  return Qs === 0 ? Math.abs(Q) : Math.abs(Q - Qs) / Qs;
}

export function studyRow(dir: string, times?: Map<string, number>): StudyRow {
  const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Summary;
  const cfg = parse(readFileSync(join(dir, "config.yaml"), "utf8")) as {
    seed?: number;
    firms: { policy: { kind: string } }[];
    training?: { schedule?: { kind?: string } };
  };
  const kinds = new Map<string, number>();
  for (const f of cfg.firms) kinds.set(f.policy.kind, (kinds.get(f.policy.kind) ?? 0) + 1);
  const learned: Record<string, number> = {};
  for (const [id, f] of Object.entries(s.final.firms)) learned[id] = f.quantity;
  const eq = s.equilibria;
  const q = (e: Eq, id: string) => e.firms.find((f) => f.id === id)?.quantity ?? Number.NaN;
  const ids = Object.keys(s.final.firms).sort();
  return {
    dir,
    experiment: s.experiment,
    policies: [...kinds].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(", "),
    schedule: cfg.training?.schedule?.kind ?? "simultaneous",
    seed: cfg.seed ?? 1,
    rounds: s.rounds,
    referenceKind: s.reference.kind,
    firms: ids.map((id) => ({
      id,
      learned: learned[id] as number,
      stackelberg: q(eq.stackelberg, id),
      cournot: q(eq.cournot, id),
      collusive: q(eq.collusive, id),
      reference: s.final.firms[id]?.equilibriumQuantity ?? Number.NaN,
    })),
    price: {
      learned: s.final.priceMean,
      stackelberg: eq.stackelberg.price,
      cournot: eq.cournot.price,
      collusive: eq.collusive.price,
    },
    distance: s.final.distance,
    toStackelberg: maxRelDistance(learned, eq.stackelberg.firms),
    toCournot: maxRelDistance(learned, eq.cournot.firms),
    toCollusive: totalDistance(learned, eq.collusive),
    wallSeconds: s.wallSeconds,
    ...(times?.has(basename(dir)) ? { commandSeconds: times.get(basename(dir)) as number } : {}),
  };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const pc = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : "–");

export function markdownTable(rows: readonly StudyRow[]): string {
  const out = [
    "| experiment | learners (schedule) | seed | rounds | firm: learned (Stackelberg / Cournot / collusive) | price: learned (S / C / coll.) | distance to reference | to Stackelberg / Cournot / collusive (total) | wall s (run / command) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const firms = r.firms
      .map((f) => {
        // A dynamic reference (a path over the episode's steps): its mean beside the stage-game concepts.
        const path = r.referenceKind === "stage-equilibrium" ? "" : `path ${f2(f.reference)}; `;
        return `${f.id}: **${f2(f.learned)}** (${path}${f2(f.stackelberg)} / ${f2(f.cournot)} / ${f2(f.collusive)})`;
      })
      .join("<br>");
    const ref = r.referenceKind === "stage-equilibrium" ? "" : ` (${r.referenceKind})`;
    out.push(
      `| ${r.experiment}${basename(r.dir) === r.experiment ? "" : ` (run ${basename(r.dir)})`} | ${r.policies} (${r.schedule}) | ${r.seed} | ${r.rounds.toLocaleString("en-US")} | ${firms} | **${f2(r.price.learned)}** (${f2(r.price.stackelberg)} / ${f2(r.price.cournot)} / ${f2(r.price.collusive)}) | ${pc(r.distance)}${ref} | ${pc(r.toStackelberg)} / ${pc(r.toCournot)} / ${pc(r.toCollusive)} | ${r.wallSeconds.toFixed(1)} / ${r.commandSeconds === undefined ? "–" : r.commandSeconds.toFixed(1)} |`,
    );
  }
  return out.join("\n");
}

function readTimes(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [name, code, secs] = line.split("\t");
    if (name && code === "0" && secs !== undefined && Number.isFinite(Number(secs))) m.set(name, Number(secs));
  }
  return m;
}

function main(argv: string[]): void {
  const args = [...argv];
  const ti = args.indexOf("--times");
  let times: Map<string, number> | undefined;
  if (ti >= 0) {
    const file = args[ti + 1];
    if (file === undefined) throw new Error("--times needs a file");
    times = readTimes(file);
    args.splice(ti, 2);
  }
  const json = args.includes("--json");
  const dirs = args.filter((a) => !a.startsWith("--"));
  if (dirs.length === 0) throw new Error("usage: study-table.js DIR... [--times FILE] [--json]");
  const rows: StudyRow[] = [];
  for (const d of dirs) {
    if (!existsSync(join(d, "summary.json"))) {
      process.stderr.write(`study-table: ${d} has no summary.json, left out\n`);
      continue;
    }
    rows.push(studyRow(d, times));
  }
  process.stdout.write(json ? `${JSON.stringify(rows, null, 1)}\n` : `${markdownTable(rows)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`study-table: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
