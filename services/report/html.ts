/**
 * The report page: one self-contained HTML file (inline SVG charts, inline CSS, the charts' data
 * in an inert JSON block). Its Content-Security-Policy forbids every fetch and every script, so it
 * opens offline and shows the same thing everywhere.
 */

/** Escapes text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A number for a table: up to `digits` significant digits, no exponent for ordinary sizes. */
export function num(v: number | undefined | null, digits = 5): string {
  if (v === undefined || v === null || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e7)) return v.toExponential(2);
  return Number.parseFloat(v.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

/** A percentage (relative distance 0.0123 -> "1.23%"). */
export function pct(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  return `${num(v * 100, 3)}%`;
}

/** An HTML table (no header row when `header` is null); cells are escaped unless given as { html }. */
export function table(
  header: readonly string[] | null,
  rows: readonly (readonly (string | { html: string })[])[],
  cls = "",
): string {
  const cell = (c: string | { html: string }, tag: string) => `<${tag}>${typeof c === "string" ? esc(c) : c.html}</${tag}>`;
  const head = header ? `<thead><tr>${header.map((h) => cell(h, "th")).join("")}</tr></thead>` : "";
  return `<table${cls ? ` class="${esc(cls)}"` : ""}>${head}<tbody>${rows
    .map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** A chart (its SVG) with a caption, marked for tests and readers by `name`. */
export function figure(name: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${esc(name)}">${svg}<figcaption>${caption}</figcaption></figure>`;
}

/** A note where a chart would be (e.g. a policy kind with no checkpoint). */
export function notice(name: string, text: string): string {
  return `<p class="notice" data-notice="${esc(name)}">${esc(text)}</p>`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1080px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.sub { color: #4b5563; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0 12px; background: #fff; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #e5e7eb; padding: 4px 10px; text-align: right; }
th { background: #f3f4f6; font-weight: 600; } td:first-child, th:first-child { text-align: left; }
table.meta td { text-align: left; } table.meta td:first-child { color: #4b5563; font-weight: 600; }
figure.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px; margin: 12px 0; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #4b5563; font-size: 12.5px; margin-top: 4px; }
.notice { background: #fff7ed; border: 1px solid #fed7aa; padding: 8px 12px; border-radius: 6px; }
footer { color: #6b7280; font-size: 12px; margin-top: 32px; }
`;

/** The whole page. `data` goes into an inert JSON block (what the charts show, for readers and tools). */
export function page(o: { title: string; subtitle: string; body: string; data: unknown; footer: string }): string {
  // "</" cannot close the data block early when escaped this way.
  const json = JSON.stringify(o.data).replaceAll("</", "<\\/");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(o.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(o.title)}</h1>
<p class="sub">${o.subtitle}</p>
${o.body}
<footer>${o.footer}</footer>
</main>
<script type="application/json" id="report-data">${json}</script>
</body>
</html>
`;
}
