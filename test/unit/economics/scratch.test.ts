import { test } from "vitest";
import { solveEquilibrium, solveSubgame, price, totalCost, type EqFirm, type DemandSpec } from "../../../market/economics/index.js";
function dev(demand: DemandSpec, firms: EqFirm[], q: number[], i: number, qi: number): number {
  const tier = firms[i]!.tier;
  let committed = qi;
  firms.forEach((f, k) => { if (k !== i && f.tier <= tier) committed += q[k]!; });
  const later = firms.filter((f) => f.tier > tier).map((f) => f.tier);
  let T = committed;
  if (later.length > 0) { const rest = solveSubgame(demand, firms, committed, Math.min(...later)); firms.forEach((f, k) => { if (f.tier > tier) T += rest[k]!; }); }
  return (qi > 0 ? qi * price(demand, T) : 0) - totalCost(firms[i]!.cost, qi);
}
test("scratch", () => {
  const d: DemandSpec = {kind:"linear",a:1,b:0.2};
  const costs = [{"kind":"quadratic","c":0.030648722120440508,"d":0},{"kind":"quadratic","c":0.11838514582964549,"d":0},{"kind":"quadratic","c":0.13386449986952542,"d":0},{"kind":"linear","c":0.02506046894482002}] as any[];
  const firms: EqFirm[] = [0,1,2,2].map((t, i) => ({id: "f"+i, tier: t, cost: costs[i]}));
  (globalThis as any).DEBUGEQ = true;
  const r = solveEquilibrium(d, firms);
  (globalThis as any).DEBUGEQ = false;
  const q = r.firms.map(f=>f.quantity);
  console.log(q, r.price, r.firms.map(f=>f.profit));
  firms.forEach((_, i) => {
    const base = dev(d, firms, q, i, q[i]!);
    let best = [0, -Infinity];
    for (let k = 0; k <= 4000; k++) { const qi = k * 0.002; const g = dev(d, firms, q, i, qi) - base; if (g > best[1]!) best = [qi, g]; }
    console.log("firm", i, q[i], base, best);
  });
  const rows = [];
  for (let k = 0; k <= 40; k++) { const qi = 2.5 + k * 0.05; const s = solveSubgame(d, firms, qi, 1); rows.push([qi.toFixed(3), dev(d, firms, q, 0, qi).toFixed(6), [...s].slice(1).map(v=>v.toFixed(4)).join(",")]); }
  console.log(rows.map(r=>r.join(" ")).join("\n"));
});
