import { loadExperiment } from "../config/index.js";
import { equilibriaFor, referenceFor } from "../report/equilibria.js";
import { formatTable } from "./table.js";

/**
 * `stackelberg solve <config> [--json]`: the exact equilibria of the config's market and firms,
 * and the reference a run's summary compares with (the stage equilibrium, or a dynamic path).
 */
export function solveCommand(file: string, opts: { json?: boolean }): void {
  const exp = loadExperiment(file);
  const eq = equilibriaFor(exp);
  const reference = referenceFor(exp);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ experiment: exp.name, ...eq, reference }, null, 2)}\n`);
    return;
  }
  const roleOf = new Map(exp.firms.map((f) => [f.id, f.role]));
  const out: string[] = [`Experiment: ${exp.name}  (demand ${JSON.stringify(exp.market.demand)})`, ""];
  for (const [title, r] of [
    [exp.tiers > 1 ? `Stackelberg equilibrium (${exp.tiers} tiers)` : "Cournot-Nash equilibrium (one tier)", eq.stackelberg],
    ["Cournot-Nash (all firms simultaneous)", eq.cournot],
    ["Collusive (joint-profit maximum)", eq.collusive],
  ] as const) {
    out.push(title);
    out.push(
      formatTable(
        ["firm", "role", "tier", "quantity", "profit", "marginal cost"],
        r.firms.map((f) => [f.id, roleOf.get(f.id) ?? "", String(f.tier), fmt(f.quantity), fmt(f.profit), fmt(f.marginalCost)]),
      ),
    );
    out.push(
      `  price ${fmt(r.price)}   total quantity ${fmt(r.totalQuantity)}   consumer surplus ${fmt(r.consumerSurplus)}   producer surplus ${fmt(r.producerSurplus)}   welfare ${fmt(r.totalWelfare)}`,
      "",
    );
  }
  out.push(`Reference of the run summary: ${reference.kind}`, `  ${reference.description}`);
  if (reference.kind !== "stage-equilibrium") {
    out.push(
      formatTable(
        ["step", "price", ...reference.firms.map((f) => `${f.id} quantity`)],
        reference.price.map((p, t) => [String(t), fmt(p), ...reference.firms.map((f) => fmt(f.quantity[t]!))]),
      ),
    );
    out.push(
      `  episode value: ${reference.firms.map((f) => `${f.id} ${fmt(f.value)} (${f.objective === "valuation" ? "discounted" : "sum of profits"})`).join(", ")}`,
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.parseFloat(v.toPrecision(10)).toString();
}
