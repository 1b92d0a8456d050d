/** Formats rows as a plain aligned text table (numbers right-aligned). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.e+-]+$|^NaN$|^-?Infinity$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ")}`;
  return [line(header), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`, ...rows.map(line)].join("\n");
}
