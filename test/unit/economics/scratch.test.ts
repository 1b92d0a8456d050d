import { test } from "vitest";
import { linearStackelberg, solveEquilibrium, linearCournot } from "../../../market/economics/index.js";
test("scratch", () => {
  console.log(linearStackelberg(100, 1, [10], [10]).firms.map(f=>[f.quantity,f.profit]));
  console.log(linearStackelberg(100, 1, [10], [10, 10]).firms.map(f=>f.quantity));
  const d = { kind: "linear", a: 100, b: 1 } as const;
  const lin = (c: number) => ({ kind: "linear", c }) as const;
  let t = performance.now();
  console.log(solveEquilibrium(d, [{id:"L",tier:0,cost:lin(10)},{id:"F",tier:1,cost:lin(10)}]).firms.map(f=>f.quantity), performance.now()-t);
  t = performance.now();
  console.log(solveEquilibrium(d, [{id:"L",tier:0,cost:lin(10)},{id:"F",tier:1,cost:lin(10)},{id:"G",tier:2,cost:lin(10)}]).firms.map(f=>f.quantity), performance.now()-t);
  // kink: leader 0 cost, follower 40
  console.log(linearStackelberg(100,1,[0],[40]).firms.map(f=>f.quantity));
  console.log(solveEquilibrium(d, [{id:"L",tier:0,cost:lin(0)},{id:"F",tier:1,cost:lin(40)}]).firms.map(f=>f.quantity));
  console.log(linearStackelberg(100,1,[0, 5],[40, 30]).firms.map(f=>f.quantity));
  console.log(solveEquilibrium(d, [{id:"L",tier:0,cost:lin(0)},{id:"L2",tier:0,cost:lin(5)},{id:"F",tier:1,cost:lin(40)},{id:"F2",tier:1,cost:lin(30)}]).firms.map(f=>f.quantity));
  console.log(linearCournot(100,1,[10,20,95]).firms.map(f=>f.quantity));
  const ce = { kind: "constant-elasticity", A: 100, elasticity: 1.5 } as const;
  t = performance.now();
  console.log(solveEquilibrium(ce, [{id:"L",tier:0,cost:lin(1)},{id:"F",tier:1,cost:{kind:"quadratic",c:1,d:0.5}},{id:"G",tier:2,cost:lin(2)}]), performance.now()-t);
  t = performance.now();
  const ex = { kind: "exponential", a: 100, b: 0.05 } as const;
  console.log(solveEquilibrium(ex, [{id:"L",tier:0,cost:lin(1)},{id:"L2",tier:0,cost:lin(3)},{id:"F",tier:1,cost:{kind:"quadratic",c:1,d:0.5}},{id:"G",tier:2,cost:lin(2)},{id:"H",tier:3,cost:lin(2)}]).firms.map(f=>f.quantity), performance.now()-t);
});
