/** What `run` and `evaluate` print at the end: a few lines for people, or one JSON object for scripts. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Summary } from "../report/metrics.js";

export function printRunSummary(s: Summary, out: string, json: boolean | undefined): void {
  const report = join(out, "report.html");
  if (json) {
    process.stdout.write(`${JSON.stringify({ out, report: existsSync(report) ? report : null, summary: s })}\n`);
    return;
  }
  // With a dynamic reference the figures are means over the episode's steps of its path.
  const label = s.reference.kind === "stage-equilibrium" ? "equilibrium" : `${s.reference.kind}, mean over steps`;
  const lines = Object.entries(s.final.firms).map(
    ([id, f]) =>
      `  ${id}: quantity ${f.quantity.toPrecision(8)} (${label} ${f.equilibriumQuantity.toPrecision(8)}, distance ${f.distance.toExponential(2)})`,
  );
  process.stdout.write(
    `run ${s.runId}: ${s.rounds} rounds in ${s.wallSeconds.toFixed(1)} s\n${lines.join("\n")}\n  price ${s.final.priceMean.toPrecision(8)} (${label} ${s.final.equilibriumPrice.toPrecision(8)})\n${existsSync(report) ? `  report ${report}\n` : ""}`,
  );
}
