/**
 * The exact dynamic references of docs/studies/valuation.md: one experiment solved for several
 * discount factors of its forward-looking firms. For each discount d the chosen firms maximise
 * their valuation (discounted cash flows over the episode, gamma = d); d = 0 is written as
 * `objective: profit` (immediate-profit maximisation, the same thing). Prints, per discount, the
 * reference path the run summary would use (quantities and price by step of the episode), each
 * firm's discounted value and mean per-round profit, and the stage game's Stackelberg equilibrium.
 * With --write-configs it also writes one experiment file per discount (learned runs of the study).
 * With --learned it prints, instead, the learned outcomes of finished runs next to their reference
 * (from each run's summary.json).
 *
 *   node dist/bench/valuation-reference.js experiments/X.yaml [--discounts 0,0.5,0.9,0.95,0.99]
 *        [--firms id,id] [--write-configs DIR] [--json]
 *   node dist/bench/valuation-reference.js --learned RUN_DIR...
 *
 * --firms: which firms get the discount (default: every firm with objective valuation in the file,
 * or every firm when none has it).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import type { ReferencePath } from "../market/economics/index.js";
import { parseExperiment } from "../services/config/index.js";
import { equilibriaFor, referenceFor } from "../services/report/equilibria.js";

export interface DiscountRow {
  discount: number;
  reference: ReferencePath;
  /** Per firm: discounted value (plain sum for profit firms) and mean profit per round. */
  firms: { id: string; objective: string; value: number; meanProfit: number; meanQuantity: number }[];
}

interface RawFirm {
  id: string;
  objective?: string;
  discount?: number;
  [k: string]: unknown;
}

/** The raw experiment with `ids` given discount d (d = 0: objective profit). */
export function withDiscount(raw: Record<string, unknown>, ids: readonly string[], d: number): Record<string, unknown> {
  const copy = structuredClone(raw) as Record<string, unknown> & { firms: RawFirm[]; name?: string };
  for (const f of copy.firms) {
    if (!ids.includes(f.id)) continue;
    if (d === 0) {
      f.objective = "profit";
      delete f.discount;
    } else {
      f.objective = "valuation";
      f.discount = d;
    }
  }
  copy.name = `${copy.name ?? "experiment"}-d${d}`;
  return copy;
}

/** The firms that get the discount: --firms, else those with objective valuation, else all. */
export function discountedFirms(raw: Record<string, unknown>, explicit?: string[]): string[] {
  const firms = (raw.firms as RawFirm[]) ?? [];
  if (explicit && explicit.length > 0) {
    for (const id of explicit) if (!firms.some((f) => f.id === id)) throw new Error(`--firms: no firm "${id}" in the experiment`);
    return explicit;
  }
  const training = (raw.training as { objective?: string } | undefined) ?? {};
  const val = firms.filter((f) => (f.objective ?? training.objective) === "valuation").map((f) => f.id);
  return val.length > 0 ? val : firms.map((f) => f.id);
}

export function solveDiscounts(
  raw: Record<string, unknown>,
  ids: readonly string[],
  discounts: readonly number[],
): DiscountRow[] {
  return discounts.map((d) => {
    const exp = parseExperiment(withDiscount(raw, ids, d), `discount ${d}`);
    const reference = referenceFor(exp);
    return {
      discount: d,
      reference,
      firms: reference.firms.map((f) => ({
        id: f.id,
        objective: f.objective,
        value: f.value,
        meanProfit: f.profit.reduce((s, x) => s + x, 0) / f.profit.length,
        meanQuantity: f.quantity.reduce((s, x) => s + x, 0) / f.quantity.length,
      })),
    };
  });
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

interface LearnedFirm {
  quantity: number;
  profit: number;
  equilibriumProfit: number;
  distance: number;
  quantityByStep: number[];
  referenceQuantityByStep: number[];
  episodeValue?: number;
  referenceValue?: number;
}

/**
 * One line per firm of each finished run: learned quantity at steps 0, middle and last (reference
 * in brackets), mean profit per round and episode value against the reference's, distance.
 */
export function learnedTable(dirs: readonly string[]): string {
  const out = [
    "| run | seed | firm | q step 0 | q middle | q last | mean profit / round | episode value | distance | run distance | wall s |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const dir of dirs) {
    const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
      wallSeconds: number;
      final: { distance: number; firms: Record<string, LearnedFirm> };
    };
    const cfg = parse(readFileSync(join(dir, "config.yaml"), "utf8")) as { seed?: number };
    for (const [id, f] of Object.entries(s.final.firms)) {
      const T = f.quantityByStep.length;
      const at = (t: number) => `${fmt(f.quantityByStep[t] as number)} (${fmt(f.referenceQuantityByStep[t] as number)})`;
      out.push(
        `| ${basename(dir)} | ${cfg.seed ?? 1} | ${id} | ${at(0)} | ${at(Math.floor((T - 1) / 2))} | ${at(T - 1)} | ${fmt(f.profit, 1)} (${fmt(f.equilibriumProfit, 1)}) | ${f.episodeValue === undefined ? "–" : `${fmt(f.episodeValue, 0)} (${fmt(f.referenceValue ?? Number.NaN, 0)})`} | ${fmt(f.distance * 100)}% | ${fmt(s.final.distance * 100)}% | ${fmt(s.wallSeconds, 0)} |`,
      );
    }
  }
  return out.join("\n");
}

function markdown(file: string, raw: Record<string, unknown>, ids: readonly string[], rows: DiscountRow[]): string {
  const out: string[] = [];
  const stage = equilibriaFor(parseExperiment(raw, file)).stackelberg;
  out.push(`${file}: discount applied to ${ids.join(", ")}`);
  out.push(
    `stage game (episode-start state): ${stage.firms.map((f) => `${f.id} ${fmt(f.quantity)} (profit ${fmt(f.profit)})`).join(", ")}, price ${fmt(stage.price)}`,
  );
  out.push("");
  const first = rows[0]?.reference;
  if (!first) return out.join("\n");
  const steps = first.rounds;
  out.push(
    `| d | kind | firm | ${Array.from({ length: steps }, (_, t) => `q${t}`).join(" | ")} | mean q | mean profit/round | value |`,
  );
  out.push(`|---|---|---|${"---|".repeat(steps)}---|---|---|`);
  for (const r of rows) {
    for (const f of r.reference.firms) {
      const s = r.firms.find((x) => x.id === f.id);
      out.push(
        `| ${r.discount} | ${r.reference.kind} | ${f.id} (${f.objective}) | ${f.quantity.map((q) => fmt(q)).join(" | ")} | ${fmt(s?.meanQuantity ?? Number.NaN)} | ${fmt(s?.meanProfit ?? Number.NaN)} | ${fmt(f.value, 1)} |`,
      );
    }
    out.push(`| ${r.discount} | | price | ${r.reference.price.map((p) => fmt(p)).join(" | ")} | | | |`);
  }
  const notes = rows.filter((r) => r.reference.kind === "stage-equilibrium" || /could not/.test(r.reference.description));
  for (const r of notes) out.push(`\nd = ${r.discount}: ${r.reference.description}`);
  return out.join("\n");
}

function main(argv: string[]): void {
  const args = [...argv];
  const take = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    args.splice(i, 2);
    return v;
  };
  const discounts = (take("--discounts") ?? "0,0.5,0.9,0.95,0.99").split(",").map((s) => {
    const d = Number(s);
    if (!Number.isFinite(d) || d < 0 || d >= 1) throw new Error(`--discounts: expected numbers in [0, 1), got "${s}"`);
    return d;
  });
  const firmsArg = take("--firms")?.split(",");
  const configDir = take("--write-configs");
  const json = args.includes("--json");
  const files = args.filter((a) => !a.startsWith("--"));
  if (args.includes("--learned")) {
    if (files.length === 0) throw new Error("--learned needs run folders");
    process.stdout.write(`${learnedTable(files)}\n`);
    return;
  }
  if (files.length !== 1)
    throw new Error(
      "usage: valuation-reference.js EXPERIMENT.yaml [--discounts 0,0.5] [--firms a,b] [--write-configs DIR] [--json]",
    );
  const file = files[0] as string;
  const raw = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const ids = discountedFirms(raw, firmsArg);
  const rows = solveDiscounts(raw, ids, discounts);
  if (configDir) {
    mkdirSync(configDir, { recursive: true });
    for (const d of discounts) {
      const target = join(configDir, `${basename(file, ".yaml")}-d${d}.yaml`);
      const header = `# Generated by bench/valuation-reference.ts from ${file}: ${ids.join(", ")} with ${d === 0 ? "objective profit" : `objective valuation, discount ${d}`}.\n`;
      writeFileSync(target, header + stringify(withDiscount(raw, ids, d)));
      process.stderr.write(`wrote ${target}\n`);
    }
  }
  if (json) process.stdout.write(`${JSON.stringify({ file, firms: ids, rows }, null, 1)}\n`);
  else process.stdout.write(`${markdown(file, raw, ids, rows)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`valuation-reference: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
