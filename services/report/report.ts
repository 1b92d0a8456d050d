/**
 * `stackelberg report DIR` (also written at the end of every `stackelberg run`) and
 * `stackelberg compare DIR...`: self-contained HTML reports of runs, charts rendered to SVG with
 * Vega-Lite (services/report/charts.ts). Memory and size stay bounded however long the runs:
 * metrics.jsonl is streamed once and downsampled on the fly.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "../errors.js";
import { curvesSpec, LOG_FLOOR, overTimeSpec, type PhaseBand, r6, renderSvg } from "./charts.js";
import { type Bucket, bucketX } from "./downsample.js";
import { esc, figure, notice, num, page, pct, table } from "./html.js";
import { type ReactionCurve, reactionCurves } from "./reaction.js";
import { loadRun, moduleVersion, packageVersion, type RunData, seriesIndex } from "./run-data.js";
import { type RenderedChart, writeSvgCharts } from "./svg-export.js";

/** What writing a report produced. */
export interface ReportResult {
  file: string;
  bytes: number;
  /** Names of the charts in the report. */
  charts: string[];
  /** Notes shown instead of a chart. */
  notes: string[];
  /** With --svg DIR: the charts written as standalone SVG files. */
  svgFiles?: string[];
}

type Row = Record<string, string | number | null>;

function reportLibraries(): string {
  const v = (n: string) => moduleVersion(n) ?? "?";
  return `stackelberg-market ${esc(packageVersion())}, charts by Vega-Lite ${esc(v("vega-lite"))} / Vega ${esc(v("vega"))}, rendered to SVG; made ${esc(new Date().toISOString())}`;
}

/** Phases as shaded stretches of rounds (none for a one-phase schedule). */
function phaseBands(d: RunData): PhaseBand[] {
  if (d.phases.length < 2) return [];
  const total = d.exp.market.totalRounds;
  return d.phases.map((p, k) => ({ phase: p.name, from: p.startRound, to: d.phases[k + 1]?.startRound ?? total }));
}

/** Rows of a downsampled column: x, series, mean, lo, hi (log: floored). */
function columnRows(buckets: readonly Bucket[], col: number, series: string, log = false): Row[] {
  const f = (v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v)) return null;
    return r6(log ? Math.max(v, LOG_FLOOR) : v);
  };
  return buckets.map((b) => ({ x: r6(bucketX(b)), series, mean: f(b.mean[col]), lo: f(b.min[col]), hi: f(b.max[col]) }));
}

function stretch(d: RunData): string {
  const b = d.buckets;
  if (b.length === 0) return "no rounds recorded";
  const per = Math.round(d.rows / b.length);
  return per <= 1
    ? "every round"
    : `each point: the mean of ~${num(per, 3)} consecutive rounds (${b.length} points for ${num(d.rows)} rounds)`;
}

/** The table of equilibrium concepts next to the learned outcome. */
function outcomeTable(d: RunData): string {
  const s = d.summary;
  const eq = s.equilibria;
  const dynamic = s.reference.kind !== "stage-equilibrium";
  const find = (r: typeof eq.stackelberg, id: string) => r.firms.find((f) => f.id === id);
  const header = [
    "firm",
    "tier",
    "policy",
    "objective",
    "learned quantity",
    ...(dynamic ? [`reference (${s.reference.kind}, mean)`] : []),
    "Stackelberg",
    "Cournot",
    "collusive",
    "learned profit",
    "Stackelberg profit",
    "distance",
  ];
  const rows = d.exp.firms.map((f) => {
    const fin = s.final.firms[f.id];
    return [
      f.id,
      String(f.tier),
      f.policy.kind,
      f.objective === "valuation" ? `valuation (γ ${f.discount})` : "profit",
      num(fin?.quantity),
      ...(dynamic ? [num(fin?.equilibriumQuantity)] : []),
      num(find(eq.stackelberg, f.id)?.quantity),
      num(find(eq.cournot, f.id)?.quantity),
      num(find(eq.collusive, f.id)?.quantity),
      num(fin?.profit),
      num(find(eq.stackelberg, f.id)?.profit),
      pct(fin?.distance),
    ];
  });
  rows.push([
    "price",
    "",
    "",
    "",
    num(s.final.priceMean),
    ...(dynamic ? [num(s.final.equilibriumPrice)] : []),
    num(eq.stackelberg.price),
    num(eq.cournot.price),
    num(eq.collusive.price),
    "",
    "",
    pct(s.final.distance),
  ]);
  return table(header, rows);
}

function metaTable(d: RunData): string {
  const s = d.summary;
  const e = d.exp;
  const sched = e.training.schedule;
  const backends = Object.entries(d.backends);
  const v = d.run.versions;
  const rows: [string, string][] = [
    ["experiment", e.name],
    ["run id", s.runId],
    ["seed", String(e.seed)],
    [
      "rounds",
      `${num(s.rounds)} of ${num(e.market.totalRounds)} (B = ${num(e.market.batch)} market instances a round, T = ${e.market.roundsPerEpisode} rounds an episode)`,
    ],
    [
      "schedule",
      sched.kind === "alternating"
        ? `alternating: ${num(sched.phaseRounds)}-round phases, first ${sched.firstPhase}, ${num(sched.evaluateRounds)} evaluation rounds`
        : sched.kind,
    ],
    [
      "final figures",
      `mean of the last ${num(s.finalWindow)} rounds${sched.kind === "alternating" && sched.evaluateRounds > 0 ? " (the evaluation phase)" : ""}`,
    ],
    ["reference", `${s.reference.kind}: ${s.reference.description}`],
    ["backend", backends.length > 0 ? backends.map(([id, b]) => `${id}: ${b}`).join(", ") : "no tfjs learner"],
    [
      "versions",
      v
        ? `stackelberg-market ${v.stackelberg}, Node.js ${v.node}${v.tfjs ? `, tfjs ${v.tfjs}` : ""}`
        : "not recorded (run.json has no versions)",
    ],
    ["wall time", `${num(s.wallSeconds, 4)} s`],
    ["rounds/s", num(s.wallSeconds > 0 ? s.rounds / s.wallSeconds : Number.NaN, 4)],
    ["absences", num(s.absences)],
  ];
  if (d.run.started) rows.push(["started", d.run.started]);
  return table(null, rows, "meta");
}

/** The body of a report page as it is built: its sections, and each chart's SVG, name and data rows. */
class ReportPage {
  readonly parts: string[] = [];
  readonly charts: string[] = [];
  readonly data: Record<string, unknown> = {};
  readonly svgs: RenderedChart[] = [];

  /** Renders a chart and adds it as a figure with its caption; its rows go into the page's data. */
  async add(name: string, spec: Parameters<typeof renderSvg>[0], caption: string, rows: unknown): Promise<void> {
    const svg = await renderSvg(spec);
    this.parts.push(figure(name, svg, caption));
    this.svgs.push({ name, svg });
    this.charts.push(name);
    this.data[name] = rows;
  }
}

/** Renders the report of one run (data loaded) to HTML. */
export async function runReportHtml(
  d: RunData,
  reactions: readonly ReactionCurve[],
): Promise<{ html: string; charts: string[]; notes: string[]; svgs: RenderedChart[] }> {
  const ix = seriesIndex(d.firms);
  const s = d.summary;
  const bands = phaseBands(d);
  const notes: string[] = [];
  const body = new ReportPage();
  const { charts, parts, data, svgs } = body;
  const add = body.add.bind(body);
  const dynamic = s.reference.kind !== "stage-equilibrium";
  const refWord = dynamic ? `the ${s.reference.kind} reference (mean over the episode's steps)` : "the Stackelberg equilibrium";

  parts.push("<h2>Outcome</h2>", outcomeTable(d), metaTable(d));
  parts.push("<h2>Training</h2>");
  const qRows = d.firms.flatMap((id, f) => columnRows(d.buckets, ix.quantity(f), id));
  const qRules = d.firms.map((id) => ({ series: id, value: r6(s.final.firms[id]?.equilibriumQuantity ?? Number.NaN) }));
  await add(
    "quantity",
    overTimeSpec({
      title: "Quantity over training",
      yTitle: "mean quantity",
      rows: qRows,
      rules: qRules,
      phases: bands,
      band: true,
    }),
    `Each firm's mean quantity over the B instances (line; band: min-max within each stretch of rounds), dashed: ${esc(refWord)}; ${esc(stretch(d))}.`,
    { rows: qRows, rules: qRules },
  );
  const pRows = columnRows(d.buckets, ix.price, "price");
  const pRules = [{ series: "price", value: r6(s.final.equilibriumPrice) }];
  await add(
    "price",
    overTimeSpec({ title: "Price", yTitle: "mean price", rows: pRows, rules: pRules, band: true, seriesTitle: "" }),
    `Mean market price; dashed: ${esc(refWord)}.`,
    { rows: pRows, rules: pRules },
  );
  const prRows = d.firms.flatMap((id, f) => columnRows(d.buckets, ix.profit(f), id));
  const prRules = d.firms.map((id) => ({ series: id, value: r6(s.final.firms[id]?.equilibriumProfit ?? Number.NaN) }));
  await add(
    "profit",
    overTimeSpec({ title: "Profit per round", yTitle: "mean profit", rows: prRows, rules: prRules, band: true }),
    `Each firm's mean profit per round; dashed: its profit in ${esc(refWord)}.`,
    { rows: prRows, rules: prRules },
  );
  const dRows = [
    ...columnRows(d.buckets, ix.distance, "all firms (max)", true),
    ...d.firms.flatMap((id, f) => columnRows(d.buckets, ix.firmDistance(f), id, true)),
  ];
  await add(
    "distance",
    overTimeSpec({
      title: "Distance to equilibrium",
      yTitle: "relative distance (log)",
      rows: dRows,
      phases: bands,
      log: true,
    }),
    `Relative distance |q - q*| / q* of the mean quantities to ${dynamic ? `the ${esc(s.reference.kind)} reference at each round's step` : "the Stackelberg equilibrium"}, per firm and the maximum over firms, log scale (values below ${LOG_FLOOR} drawn at ${LOG_FLOOR})${bands.length > 0 ? "; shaded: the training phases" : ""}.`,
    { rows: dRows, phases: bands },
  );

  parts.push("<h2>Reaction functions</h2>");
  const drawn = reactions.filter((r) => r.learned !== undefined);
  for (const r of reactions)
    if (r.note) {
      parts.push(notice(`reaction-${r.firmId}`, r.note));
      notes.push(r.note);
    }
  if (reactions.length === 0) parts.push(notice("reaction", "No follower in this run: every firm moves in tier 0."));
  if (drawn.length > 0) {
    const rows: Row[] = drawn.flatMap((r) => [
      ...r.x.map((x, k) => ({ x: r6(x), y: r6(r.learned![k]!), series: r.firmId, kind: "learned policy" })),
      ...r.x.map((x, k) => ({ x: r6(x), y: r6(r.bestResponse[k]!), series: r.firmId, kind: "true best response" })),
    ]);
    const points: Row[] = drawn.flatMap((r) => {
      const earlier = d.exp.firms.filter((f) => f.tier < r.tier);
      const eqQ = (id: string) => s.equilibria.stackelberg.firms.find((f) => f.id === id)?.quantity ?? Number.NaN;
      const lrn = (id: string) => s.final.firms[id]?.quantity ?? Number.NaN;
      return [
        { x: r6(earlier.reduce((a, f) => a + eqQ(f.id), 0)), y: r6(eqQ(r.firmId)), label: "Stackelberg equilibrium" },
        { x: r6(earlier.reduce((a, f) => a + lrn(f.id), 0)), y: r6(lrn(r.firmId)), label: "learned outcome" },
      ];
    });
    const T = d.exp.market.roundsPerEpisode;
    await add(
      "reaction",
      curvesSpec({
        title: "Follower reaction functions",
        xTitle: "earlier tiers' committed total",
        yTitle: "follower quantity",
        rows,
        points,
        kinds: ["learned policy", "true best response"],
        seriesTitle: "follower",
      }),
      `Each follower's saved policy, played greedily, at ${drawn[0]!.x.length} committed totals of the earlier tiers (mean over the B instances), against the exact best response (the follower subgame's equilibrium quantity); other inputs at an episode's first round${T > 1 ? " (step 0)" : ""}. Points: the Stackelberg equilibrium and the learned outcome.`,
      { rows, points },
    );
  }

  const T = d.exp.market.roundsPerEpisode;
  if (T > 1) {
    parts.push("<h2>Quantity by step of the episode</h2>");
    const rows: Row[] = d.firms.flatMap((id) => {
      const f = s.final.firms[id];
      if (!f) return [];
      return [
        ...f.quantityByStep.map((q, t) => ({ x: t, y: r6(q), series: id, kind: "learned (final window)" })),
        ...f.referenceQuantityByStep.map((q, t) => ({ x: t, y: r6(q), series: id, kind: `reference (${s.reference.kind})` })),
      ];
    });
    await add(
      "by-step",
      curvesSpec({
        title: "Quantity by step of the episode",
        xTitle: "step",
        yTitle: "mean quantity",
        rows,
        kinds: ["learned (final window)", `reference (${s.reference.kind})`],
        seriesTitle: "firm",
        steps: true,
      }),
      `Each firm's mean quantity at each step of the ${T}-round episode over the final window, against the reference path (${esc(s.reference.description)}).`,
      rows,
    );
  }

  const html = page({
    title: `${d.exp.name}: run report`,
    subtitle: `run ${esc(s.runId)} · ${esc(num(s.rounds))} rounds · distance to ${dynamic ? "the reference" : "equilibrium"} ${esc(pct(s.final.distance))}`,
    body: parts.join("\n"),
    data: { runId: s.runId, experiment: d.exp.name, summary: s, charts: data, reactions },
    footer: reportLibraries(),
  });
  return { html, charts, notes, svgs };
}

/**
 * Writes `<dir>/report.html` (or `out`) for the run stored in `dir`; with `svgDir`, also each
 * chart as `<svgDir>/<run folder name>-<chart>.svg`.
 */
export async function writeRunReport(dir: string, out?: string, svgDir?: string): Promise<ReportResult> {
  const d = await loadRun(resolve(dir));
  const reactions = await reactionCurves(d.dir, d.exp, d.summary.runId);
  const { html, charts, notes, svgs } = await runReportHtml(d, reactions);
  const file = resolve(out ?? join(dir, "report.html"));
  writeFileSync(file, html);
  const svgFiles = svgDir === undefined ? undefined : writeSvgCharts(svgDir, basename(resolve(dir)), svgs);
  return { file, bytes: Buffer.byteLength(html), charts, notes, ...(svgFiles ? { svgFiles } : {}) };
}

/**
 * Writes the run's report at the end of `stackelberg run`. A report that fails is logged, not
 * fatal: the run's results are already written, and `stackelberg report DIR` can try again.
 */
export async function reportAfterRun(dir: string, log: Logger): Promise<ReportResult | undefined> {
  try {
    const r = await writeRunReport(dir);
    log.info({ report: r.file, bytes: r.bytes, charts: r.charts.length }, "report written");
    return r;
  } catch (err) {
    log.warn({ err }, `could not write ${join(dir, "report.html")}; \`stackelberg report ${dir}\` tries again`);
    return undefined;
  }
}

/** Linear interpolation of a run's downsampled column at round x (undefined outside its rounds). */
const bucketXs = new WeakMap<readonly Bucket[], number[]>();
function at(buckets: readonly Bucket[], col: number, x: number): number | undefined {
  if (buckets.length === 0) return undefined;
  let xs = bucketXs.get(buckets);
  if (xs === undefined) bucketXs.set(buckets, (xs = buckets.map(bucketX)));
  // Within the first and last buckets' rounds: their means.
  if (x < xs[0]!) return x >= buckets[0]!.first ? buckets[0]!.mean[col] : undefined;
  if (x > xs[xs.length - 1]!) return x <= buckets[buckets.length - 1]!.last ? buckets[buckets.length - 1]!.mean[col] : undefined;
  // Last k with xs[k] < x (binary search), or 0.
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid]! < x) lo = mid;
    else hi = mid - 1;
  }
  const k = lo;
  const a = buckets[k]!.mean[col]!;
  if (k + 1 >= xs.length || xs[k]! >= x) return a;
  const b = buckets[k + 1]!.mean[col]!;
  const t = (x - xs[k]!) / (xs[k + 1]! - xs[k]!);
  return a + t * (b - a);
}

/** Runs of one experiment (the same config but for the seed) form a group: a band over seeds. */
interface Group {
  label: string;
  runs: RunData[];
}

function groupRuns(runs: readonly RunData[]): Group[] {
  const byKey = new Map<string, RunData[]>();
  const keyOf = (d: RunData) =>
    createHash("sha256")
      .update(JSON.stringify({ ...d.exp, seed: 0 }))
      .digest("hex")
      .slice(0, 8);
  for (const d of runs) {
    const k = keyOf(d);
    byKey.set(k, [...(byKey.get(k) ?? []), d]);
  }
  const names = new Map<string, number>();
  for (const rs of byKey.values()) names.set(rs[0]!.exp.name, (names.get(rs[0]!.exp.name) ?? 0) + 1);
  return [...byKey.entries()].map(([k, rs]) => {
    const name = rs[0]!.exp.name;
    const base = (names.get(name) ?? 0) > 1 ? `${name} [${k}]` : name;
    const seeds = [...new Set(rs.map((d) => d.exp.seed))].sort((a, b) => a - b);
    return {
      label: rs.length > 1 ? `${base} (${rs.length} runs, seed${seeds.length > 1 ? "s" : ""} ${seeds.join(", ")})` : base,
      runs: rs,
    };
  });
}

/** Points of a group's curves: evenly spaced over its longest run's rounds. */
const GRID_POINTS = 300;

/**
 * One curve per group on a grid of rounds of its own (evenly spaced over its longest run): the
 * mean over its runs, their min-max as a band.
 */
function groupRows(groups: readonly Group[], col: (d: RunData) => number | undefined, log = false): Row[] {
  const rows: Row[] = [];
  const f = (v: number) => r6(log ? Math.max(v, LOG_FLOOR) : v);
  for (const g of groups) {
    const last = Math.max(...g.runs.map((d) => d.buckets[d.buckets.length - 1]?.last ?? 0));
    const n = Math.min(GRID_POINTS, Math.max(2, Math.max(...g.runs.map((d) => d.buckets.length))));
    const grid = Array.from({ length: n }, (_, k) => (last * k) / (n - 1));
    for (const x of grid) {
      const vals: number[] = [];
      for (const d of g.runs) {
        const c = col(d);
        if (c === undefined) continue;
        const v = at(d.buckets, c, x);
        if (v !== undefined && Number.isFinite(v)) vals.push(v);
      }
      if (vals.length === 0) continue;
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const band = g.runs.length > 1;
      rows.push({
        x: r6(x),
        series: g.label,
        mean: f(mean),
        lo: band ? f(Math.min(...vals)) : null,
        hi: band ? f(Math.max(...vals)) : null,
      });
    }
  }
  return rows;
}

function meanSd(v: readonly number[]): string {
  const xs = v.filter(Number.isFinite);
  if (xs.length === 0) return "–";
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${num(m)} ± ${num(sd, 3)}`;
}

/**
 * Writes one report comparing the runs stored in `dirs`; with `svgDir`, also each chart as
 * `<svgDir>/<comparison file name without .html>-<chart>.svg`.
 */
export async function writeComparison(dirs: readonly string[], out: string, svgDir?: string): Promise<ReportResult> {
  if (dirs.length === 0) throw new ConfigError("compare needs at least one run folder");
  const runs: RunData[] = [];
  // Fewer points per run than a single report: several runs share the page.
  for (const dir of dirs) runs.push(await loadRun(resolve(dir), 400));
  const groups = groupRuns(runs);
  const labels = groups.map((g) => g.label);
  const firmIds = [...new Set(runs.flatMap((d) => d.firms))].sort();
  const body = new ReportPage();
  const { charts, parts, data, svgs } = body;
  const add = body.add.bind(body);

  // Final outcomes: one row per run, then the mean and spread over each group's seeds.
  const header = [
    "experiment",
    "run",
    "seed",
    "rounds",
    "wall s",
    "rounds/s",
    ...firmIds.map((id) => `${id} q (ref)`),
    "price (ref)",
    "distance",
  ];
  const rows: string[][] = [];
  for (const g of groups) {
    for (const d of g.runs) {
      const s = d.summary;
      rows.push([
        d.exp.name,
        s.runId,
        String(d.exp.seed),
        num(s.rounds),
        num(s.wallSeconds, 4),
        num(s.wallSeconds > 0 ? s.rounds / s.wallSeconds : Number.NaN, 4),
        ...firmIds.map((id) => {
          const f = s.final.firms[id];
          return f ? `${num(f.quantity)} (${num(f.equilibriumQuantity)})` : "–";
        }),
        `${num(s.final.priceMean)} (${num(s.final.equilibriumPrice)})`,
        pct(s.final.distance),
      ]);
    }
    if (g.runs.length > 1)
      rows.push([
        `${g.label}: mean ± sd`,
        "",
        "",
        "",
        meanSd(g.runs.map((d) => d.summary.wallSeconds)),
        "",
        ...firmIds.map((id) => meanSd(g.runs.map((d) => d.summary.final.firms[id]?.quantity ?? Number.NaN))),
        meanSd(g.runs.map((d) => d.summary.final.priceMean)),
        `${meanSd(g.runs.map((d) => d.summary.final.distance * 100))}%`,
      ]);
  }
  parts.push("<h2>Final outcomes</h2>", table(header, rows));
  parts.push("<h2>Training</h2>");
  const ixOf = (d: RunData) => seriesIndex(d.firms);
  const bandWord = "line: mean over the experiment's seeds, band: their min-max; one line per experiment";
  const dRows = groupRows(groups, (d) => ixOf(d).distance, true);
  await add(
    "distance",
    overTimeSpec({
      title: "Distance to equilibrium",
      yTitle: "relative distance (log)",
      rows: dRows,
      log: true,
      band: true,
      seriesTitle: "experiment",
      seriesDomain: labels,
    }),
    `Maximum over firms of the relative distance to each run's reference, log scale (floor ${LOG_FLOOR}); ${bandWord}.`,
    dRows,
  );
  for (const id of firmIds) {
    const qRows = groupRows(groups, (d) => {
      const f = d.firms.indexOf(id);
      return f < 0 ? undefined : ixOf(d).quantity(f);
    });
    await add(
      `quantity-${id}`,
      overTimeSpec({
        title: `Quantity of ${id}`,
        yTitle: "mean quantity",
        rows: qRows,
        band: true,
        seriesTitle: "experiment",
        seriesDomain: labels,
      }),
      `Mean quantity of firm ${esc(id)}; ${bandWord}.`,
      qRows,
    );
  }
  const pRows = groupRows(groups, (d) => ixOf(d).price);
  await add(
    "price",
    overTimeSpec({
      title: "Price",
      yTitle: "mean price",
      rows: pRows,
      band: true,
      seriesTitle: "experiment",
      seriesDomain: labels,
    }),
    `Mean market price; ${bandWord}.`,
    pRows,
  );
  const html = page({
    title: `Comparison of ${runs.length} run${runs.length === 1 ? "" : "s"}`,
    subtitle: esc(groups.map((g) => g.label).join(" · ")),
    body: parts.join("\n"),
    data: {
      runs: runs.map((d) => ({
        dir: d.dir,
        runId: d.summary.runId,
        experiment: d.exp.name,
        seed: d.exp.seed,
        final: d.summary.final,
      })),
      charts: data,
    },
    footer: reportLibraries(),
  });
  const file = resolve(out);
  writeFileSync(file, html);
  const svgFiles = svgDir === undefined ? undefined : writeSvgCharts(svgDir, basename(file).replace(/\.html?$/i, ""), svgs);
  return { file, bytes: Buffer.byteLength(html), charts, notes: [], ...(svgFiles ? { svgFiles } : {}) };
}
