import { resolve } from "node:path";
import { type ReportResult, writeComparison, writeRunReport } from "../report/report.js";

/** How a command prints for people (default), for scripts (--json) or not at all (--quiet). */
export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

function printResult(r: ReportResult, o: OutputFlags): void {
  if (o.quiet) return;
  if (o.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const kb = (r.bytes / 1024).toFixed(0);
  process.stdout.write(`report: ${r.file} (${kb} KB, ${r.charts.length} charts)\n`);
  for (const n of r.notes) process.stdout.write(`  note: ${n}\n`);
  if (r.svgFiles) process.stdout.write(`  ${r.svgFiles.length} SVG charts: ${r.svgFiles.join(", ")}\n`);
}

/** `stackelberg report DIR [--out FILE] [--svg DIR]`: the run's self-contained report.html (and its charts as SVG files). */
export async function reportCommand(dir: string, o: OutputFlags & { out?: string; svg?: string }): Promise<void> {
  printResult(await writeRunReport(resolve(dir), o.out, o.svg), o);
}

/** `stackelberg compare DIR... [--out FILE] [--svg DIR]`: one report of several runs side by side (and its charts as SVG files). */
export async function compareCommand(dirs: string[], o: OutputFlags & { out: string; svg?: string }): Promise<void> {
  printResult(await writeComparison(dirs, o.out, o.svg), o);
}
