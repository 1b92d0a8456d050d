/**
 * `--svg DIR` of `stackelberg report` and `stackelberg compare`: the report's charts, the same SVG
 * the HTML embeds, also written as standalone files (for documents that show figures, e.g.
 * docs/studies/). One file per chart, `<base>-<chart>.svg`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../errors.js";

/** A rendered chart: its name in the report and its SVG. */
export interface RenderedChart {
  name: string;
  svg: string;
}

const SVG_NS = 'xmlns="http://www.w3.org/2000/svg"';

/** A file-name part made of [A-Za-z0-9._-] (anything else becomes "-"). */
export function safeName(s: string): string {
  const out = s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return out === "" ? "chart" : out;
}

/** The chart as a standalone SVG document (XML declaration, SVG namespace). */
export function standaloneSvg(svg: string): string {
  const start = svg.indexOf("<svg");
  if (start < 0) throw new ConfigError("not an SVG chart (no <svg> element)");
  let body = svg.slice(start);
  const tagEnd = body.indexOf(">");
  if (!body.slice(0, tagEnd).includes("xmlns=")) body = `<svg ${SVG_NS}${body.slice(4)}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
}

/** Writes each chart to `<dir>/<base>-<name>.svg` (creating `dir`); returns the files, in chart order. */
export function writeSvgCharts(dir: string, base: string, charts: readonly RenderedChart[]): string[] {
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const prefix = safeName(base);
  return charts.map((c) => {
    const file = join(folder, `${prefix}-${safeName(c.name)}.svg`);
    writeFileSync(file, standaloneSvg(c.svg));
    return file;
  });
}
