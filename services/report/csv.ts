/**
 * metrics.csv: the rows of metrics.jsonl as flat columns for spreadsheets (RFC 4180: comma
 * separated, CRLF-free, fields quoted when they hold a comma, quote or newline). Nested fields
 * become dotted column names: `leader.quantityMean`, `learners.leader.explorationStd`.
 */
import type { RoundMetrics } from "./metrics.js";

/** Per-firm fields of a metrics row, in column order. */
const FIRM_FIELDS = ["quantityMean", "profitMean", "absent", "distance"] as const;

/** Learner columns: for each firm with learner metrics, its metric names in column order. */
export type LearnerColumns = ReadonlyArray<readonly [firmId: string, keys: readonly string[]]>;

/** The columns of metrics.csv for these firms (in this order) and learner metrics. */
export function csvColumns(firmIds: readonly string[], learners: LearnerColumns = []): string[] {
  return [
    "round",
    "episode",
    "step",
    "priceMean",
    "distance",
    ...firmIds.flatMap((id) => FIRM_FIELDS.map((f) => `${id}.${f}`)),
    ...learners.flatMap(([id, keys]) => keys.map((k) => `learners.${id}.${k}`)),
  ];
}

/** A field as CSV: quoted when needed; a non-finite number or a missing value is an empty field. */
export function csvField(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The header line (with its newline). */
export function csvHeader(firmIds: readonly string[], learners: LearnerColumns = []): string {
  return `${csvColumns(firmIds, learners).map(csvField).join(",")}\n`;
}

/** One metrics row as a CSV line (with its newline), columns as csvColumns() names them. */
export function csvRow(
  m: RoundMetrics & { learners?: Record<string, Record<string, number>> },
  firmIds: readonly string[],
  learners: LearnerColumns = [],
): string {
  const cells: unknown[] = [m.round, m.episode, m.step, m.priceMean, m.distance];
  for (const id of firmIds) {
    const f = m.firms[id];
    for (const k of FIRM_FIELDS) cells.push(f?.[k]);
  }
  for (const [id, keys] of learners) {
    const l = m.learners?.[id];
    for (const k of keys) cells.push(l?.[k]);
  }
  return `${cells.map(csvField).join(",")}\n`;
}
