import { test } from "vitest";
import { solveEquilibrium, type EqFirm, type DemandSpec } from "../../../market/economics/index.js";
test("scratch", () => {
  const lin = (c: number) => ({kind:"linear", c}) as const;
  const quad = (c: number, d: number) => ({kind:"quadratic", c, d}) as const;
  const firms3: EqFirm[] = [{id:"A",tier:0,cost:lin(2)},{id:"A2",tier:0,cost:lin(2.2)},{id:"B",tier:1,cost:quad(1,0.05)},{id:"B2",tier:1,cost:lin(2.5)},{id:"C",tier:2,cost:quad(1.5,0.02)}];
  const firms4: EqFirm[] = [...firms3, {id:"D",tier:3,cost:lin(2)}];
  const ds: DemandSpec[] = [{kind:"linear",a:100,b:1},{kind:"exponential",a:100,b:0.05}];
  for (const d of ds) for (const f of [firms3, firms4]) {
    (globalThis as any).CNT = {};
    const t = performance.now(); const r = solveEquilibrium(d, f); console.log(d.kind, new Set(f.map(x=>x.tier)).size, "tiers", (performance.now()-t).toFixed(1), "ms", JSON.stringify((globalThis as any).CNT), r.firms.map(x=>x.quantity.toFixed(3)).join(","));
  }
});
