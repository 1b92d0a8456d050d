/**
 * The report's charts: Vega-Lite specifications rendered to SVG in this process (vega's headless
 * View, renderer "none", toSVG: no canvas, no browser, no network). The report embeds the SVG, so
 * it opens anywhere without a script.
 */
import type { TopLevelSpec } from "vega-lite";

/** Floor of a value drawn on a log scale (a distance of exactly 0 has no logarithm). */
export const LOG_FLOOR = 1e-6;

const WIDTH = 640;
const HEIGHT = 220;

/** Shared look: system fonts, light grid. */
const CONFIG = {
  font: "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif",
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e5e7eb" },
  // labelLimit 0: never cut a label (a comparison's labels are experiment names that may differ only at their end).
  legend: { labelFontSize: 11, titleFontSize: 12, orient: "right", labelLimit: 0 },
  view: { stroke: "#d1d5db" },
};

/** Rounds a number to 6 significant digits (smaller data, same picture). */
export function r6(v: number): number | null {
  return Number.isFinite(v) ? Number.parseFloat(v.toPrecision(6)) : null;
}

/** Renders a Vega-Lite specification to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: every command imports this module, few draw charts.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const full = { ...spec, config: { ...CONFIG, ...((spec as { config?: object }).config ?? {}) } } as TopLevelSpec;
  const vg = compile(full).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Row = Record<string, string | number | null>;

/** A phase of the training schedule as a shaded stretch of rounds. */
export interface PhaseBand {
  phase: string;
  from: number;
  to: number;
}

const PHASE_COLORS: Record<string, string> = {
  "train-followers": "#93c5fd",
  "train-leaders": "#fcd34d",
  evaluate: "#86efac",
  simultaneous: "#e5e7eb",
};

function phaseLayer(phases: readonly PhaseBand[]) {
  const names = [...new Set(phases.map((p) => p.phase))];
  return {
    data: { values: phases.map((p) => ({ phase: p.phase, from: p.from, to: p.to })) },
    mark: { type: "rect", opacity: 0.25 },
    encoding: {
      x: { field: "from", type: "quantitative" },
      x2: { field: "to" },
      fill: {
        field: "phase",
        type: "nominal",
        title: "phase",
        scale: { domain: names, range: names.map((n) => PHASE_COLORS[n] ?? "#ddd6fe") },
      },
    },
  };
}

/**
 * Lines over training rounds: one per series (mean of each stretch of rounds), a min-max band
 * around each when `band`, dashed horizontal rules at the reference values, shaded phases.
 */
export function overTimeSpec(o: {
  title: string;
  yTitle: string;
  /** Rows: x (round), series, mean, lo, hi. */
  rows: Row[];
  /** Reference values: series, value (a dashed rule each). */
  rules?: Row[];
  phases?: readonly PhaseBand[];
  log?: boolean;
  band?: boolean;
  seriesTitle?: string;
  /** Every series name across charts, so a series keeps its colour in each. */
  seriesDomain?: readonly string[];
}): TopLevelSpec {
  const y = {
    field: "mean",
    type: "quantitative",
    title: o.yTitle,
    scale: o.log ? { type: "log" } : { zero: false },
    // A log axis labels (and grids) powers of ten only.
    ...(o.log ? { axis: { tickCount: 6, format: "~g" } } : {}),
  };
  const color = {
    field: "series",
    type: "nominal",
    title: o.seriesTitle ?? "firm",
    ...(o.seriesDomain ? { scale: { domain: o.seriesDomain } } : {}),
  };
  const layers: unknown[] = [];
  if (o.phases && o.phases.length > 0) layers.push(phaseLayer(o.phases));
  if (o.band && o.rows.some((r) => r.lo !== null && r.lo !== undefined && r.hi !== null && r.hi !== undefined))
    layers.push({
      mark: { type: "area", opacity: 0.18 },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "lo", type: "quantitative", scale: y.scale },
        y2: { field: "hi" },
        color: { ...color, legend: null },
      },
    });
  layers.push({
    mark: { type: "line", strokeWidth: 1.5, interpolate: "linear" },
    encoding: { x: { field: "x", type: "quantitative", title: "round" }, y, color },
  });
  if (o.rules && o.rules.length > 0)
    layers.push({
      data: { values: o.rules },
      mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { y: { field: "value", type: "quantitative" }, color: { ...color, legend: null } },
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: o.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: o.rows },
    layer: layers,
    resolve: { scale: { color: "independent" } },
  } as unknown as TopLevelSpec;
}

/**
 * Curves against x, distinguished by colour (`series`) and dash (`kind`: e.g. learned vs best
 * response), with optional points (e.g. the equilibrium).
 */
export function curvesSpec(o: {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Rows: x, y, series, kind. */
  rows: Row[];
  points?: Row[];
  pointsTitle?: string;
  kinds: string[];
  seriesTitle: string;
  /** x is the step of an episode (whole numbers, dots on the lines). */
  steps?: boolean;
}): TopLevelSpec {
  // Steps of an episode: whole numbers on the axis, a dot at each.
  const x = {
    field: "x",
    type: "quantitative",
    title: o.xTitle,
    ...(o.steps ? { axis: { tickMinStep: 1, format: "d" }, scale: { nice: false } } : {}),
  };
  const y = { field: "y", type: "quantitative", title: o.yTitle, scale: { zero: false } };
  const color = { field: "series", type: "nominal", title: o.seriesTitle };
  const layers: unknown[] = [
    {
      mark: { type: "line", strokeWidth: 2 },
      encoding: {
        x,
        y,
        color,
        strokeDash: {
          field: "kind",
          type: "nominal",
          title: "",
          scale: { domain: o.kinds, range: o.kinds.map((_, k) => (k === 0 ? [1, 0] : [6, 4])) },
        },
      },
    },
  ];
  if (o.steps) layers.push({ mark: { type: "point", filled: true, size: 36 }, encoding: { x, y, color } });
  if (o.points && o.points.length > 0)
    layers.push({
      data: { values: o.points },
      mark: { type: "point", filled: true, size: 70, shape: "diamond", color: "#111827" },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "y", type: "quantitative" },
        shape: {
          field: "label",
          type: "nominal",
          title: o.pointsTitle ?? "",
          scale: { range: ["diamond", "circle", "square", "triangle-up"] },
        },
      },
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: o.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: o.rows },
    layer: layers,
  } as unknown as TopLevelSpec;
}
