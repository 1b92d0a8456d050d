/**
 * `--svg DIR` of `stackelberg report` / `compare`: charts written as standalone SVG files that an
 * image viewer (or a Markdown page) can open on their own.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { overTimeSpec, renderSvg } from "../../../services/report/charts.js";
import { safeName, standaloneSvg, writeSvgCharts } from "../../../services/report/svg-export.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("svg export", () => {
  it("svg export - file names keep letters, digits, dot, dash and underscore only", () => {
    expect(safeName("quantity-leader")).toBe("quantity-leader");
    expect(safeName("runs/../x y")).toBe("runs-..-x-y");
    expect(safeName("../../etc/passwd")).toBe("etc-passwd");
    expect(safeName("///")).toBe("chart");
  });

  it("svg export - a chart without the SVG namespace gets it, one with it is left alone", () => {
    expect(standaloneSvg('<svg width="2"><g/></svg>')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="2"><g/></svg>\n',
    );
    const ns = '<svg xmlns="http://www.w3.org/2000/svg" width="2"></svg>';
    expect(standaloneSvg(ns)).toContain(ns);
    expect(standaloneSvg(ns).match(/xmlns=/g)).toHaveLength(1);
    expect(() => standaloneSvg("<div></div>")).toThrow(/not an SVG/);
  });

  it("svg export - a rendered Vega-Lite chart is written as <base>-<chart>.svg with its data points", async () => {
    const svg = await renderSvg(
      overTimeSpec({
        title: "Quantity",
        yTitle: "q",
        rows: [
          { x: 0, mean: 10, lo: 9, hi: 11, series: "leader" },
          { x: 5, mean: 40, lo: 39, hi: 41, series: "leader" },
          { x: 9, mean: 45, lo: 44, hi: 46, series: "leader" },
        ],
        rules: [{ series: "leader", value: 45 }],
        band: true,
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), "stk-svg-"));
    dirs.push(dir);
    const out = join(dir, "figures");
    const files = writeSvgCharts(out, "my run", [
      { name: "quantity", svg },
      { name: "price", svg },
    ]);
    expect(files).toEqual([join(out, "my-run-quantity.svg"), join(out, "my-run-price.svg")]);
    expect(readdirSync(out).sort()).toEqual(["my-run-price.svg", "my-run-quantity.svg"]);
    const text = readFileSync(files[0] as string, "utf8");
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')).toBe(true);
    expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(text.trimEnd().endsWith("</svg>")).toBe(true);
    // The line is drawn: a path through the data points.
    expect(text).toMatch(/<path[^>]*d="M/);
  });
});
