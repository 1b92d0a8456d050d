/**
 * The oracle: computes the exact best reply from the market model (the run's demand and every
 * firm's cost from RunParams). A leader plays its subgame-perfect quantity; a later tier plays the
 * equilibrium of the subgame that starts at its tier given what earlier tiers committed. With
 * best-response firms everywhere the run reproduces the solver's equilibrium: the baseline.
 */
import { type CostSpec, type EqFirm, marginalCost, solveSubgame } from "../../market/economics/index.js";
import { columnIndex, ObservationColumn } from "../../services/bus/index.js";
import type { ActContext, Policy, RunView } from "../policy.js";

export class BestResponsePolicy implements Policy {
  readonly kind = "best-response";
  private readonly out: Float64Array;
  private readonly me: number;
  private readonly cache = new Map<string, number>();

  constructor(private readonly run: RunView) {
    this.out = new Float64Array(run.batch);
    this.me = run.firms.findIndex((f) => f.id === run.firmId);
    if (this.me < 0) throw new Error(`best-response: firm ${run.firmId} is not in the run`);
  }

  act(ctx: ActContext): Float64Array {
    const B = this.run.batch;
    const cols = this.run.observationColumns.length;
    const shiftCol = columnIndex(this.run.observationColumns, ObservationColumn.DEMAND_SHIFT);
    for (let i = 0; i < B; i++) {
      const shift = shiftCol >= 0 ? (ctx.observation[i * cols + shiftCol] as number) : 0;
      const committed = ctx.committedTotal[i] as number;
      // The firm's own marginal cost may have moved (learning-by-doing): play against the current one.
      const ownMc = ctx.ownMarginalCost[i];
      const key = `${shift}|${committed}|${ownMc}`;
      let q = this.cache.get(key);
      if (q === undefined) {
        q = this.solve(shift, committed, ownMc);
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(key, q);
      }
      this.out[i] = Math.min(Math.max(q, 0), this.run.quantityMax);
    }
    return this.out;
  }

  private solve(shift: number, committed: number, ownMc: number | undefined): number {
    const firms: EqFirm[] = this.run.firms.map((f, i) => ({
      id: f.id,
      tier: f.tier,
      cost: i === this.me && ownMc !== undefined ? currentCost(f.cost, ownMc) : f.cost,
    }));
    const q = solveSubgame(this.run.demand, firms, committed, this.run.tier, { shift });
    return q[this.me] as number;
  }
}

/** The cost a firm faces this round: learning-by-doing frozen at its current marginal cost. */
function currentCost(c: CostSpec, mc: number): CostSpec {
  if (c.kind !== "learning-by-doing") return c;
  return { kind: "linear", c: Number.isFinite(mc) ? mc : marginalCost(c, 0, 0), ...(c.fixed !== undefined ? { fixed: c.fixed } : {}) };
}
