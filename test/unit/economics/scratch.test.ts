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
  const cases: [DemandSpec, EqFirm[]][] = [
   [{kind:"linear",a:1,b:0.2}, [{id:"a",tier:2,cost:{kind:"linear",c:0.13692307729038658}},{id:"b",tier:0,cost:{kind:"linear",c:0.01}},{id:"c",tier:1,cost:{kind:"linear",c:0.01}}]],
   [{kind:"exponential",a:1,b:0.2}, [{id:"a",tier:2,cost:{kind:"linear",c:0.03339212968513796}},{id:"b",tier:1,cost:{kind:"linear",c:0.012364685585701762}},{id:"c",tier:0,cost:{kind:"linear",c:0.01}}]],
  ];
  for (const [d, firms] of cases) {
    const r = solveEquilibrium(d, firms);
    const q = r.firms.map(f=>f.quantity);
    console.log(q, r.price, r.firms.map(f=>f.profit));
    firms.forEach((_, i) => {
      const base = dev(d, firms, q, i, q[i]!);
      const gains = [0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0001, 1.001, 1.01, 1.1, 1.5, 2].map(f => [f, dev(d, firms, q, i, f*q[i]!) - base]);
      console.log(i, JSON.stringify(gains.filter(([,g]) => g! > -1e-6)));
    });
  }
});
