/**
 * Network inputs. A leader's input is its observation row, normalized by scales taken from the
 * market model; a follower's adds the earlier tiers' committed total (so it learns a reaction
 * function). When the market's dynamics make them matter, the firm's own last quantity (adjustment
 * costs) and own marginal cost (learning-by-doing) are appended too.
 */
import { price } from "../../market/economics/demand.js";
import { totalCost } from "../../market/economics/costs.js";
import { ObservationColumn } from "../../services/bus/index.js";
import type { ActContext, RunView } from "../policy.js";

/** Typical price level: the demand level for linear and exponential demand. */
export function priceScale(run: RunView): number {
  const d = run.demand;
  const p = d.kind === "constant-elasticity" ? price(d, 0.25 * run.quantityMax) : d.a;
  return Number.isFinite(p) && p > 0 ? p : 1;
}

/**
 * Scale of this firm's per-round profit: its monopoly profit over [0, quantityMax] (rewards are
 * divided by it, so values and Q estimates are of order one whatever the units).
 */
export function rewardScale(run: RunView): number {
  const me = run.firms.find((f) => f.id === run.firmId);
  let best = 0;
  for (let k = 1; k <= 400; k++) {
    const q = (run.quantityMax * k) / 400;
    const p = price(run.demand, q);
    const profit = (Number.isFinite(p) ? p : 0) * q - (me ? totalCost(me.cost, q) - (me.cost.fixed ?? 0) : 0);
    if (profit > best) best = profit;
  }
  return best > 0 ? best : 0.25 * priceScale(run) * run.quantityMax;
}

/** Builds the actor's B x width input matrix from a move request. */
export class Features {
  readonly width: number;
  private readonly obsCols: number;
  private readonly scales: Float64Array;
  private readonly centers: Float64Array;
  private readonly follower: boolean;
  private readonly useLast: boolean;
  private readonly useCost: boolean;
  private readonly pScale: number;

  constructor(private readonly run: RunView) {
    this.obsCols = run.observationColumns.length;
    this.pScale = priceScale(run);
    const q = run.quantityMax;
    this.scales = new Float64Array(this.obsCols);
    this.centers = new Float64Array(this.obsCols);
    run.observationColumns.forEach((column, j) => {
      // Map each known column to roughly [-1, 1]; unknown columns pass through.
      const [s, c] =
        column === ObservationColumn.DEMAND_SHIFT
          ? [this.pScale, 0]
          : column === ObservationColumn.LAST_PRICE
            ? [this.pScale / 2, 1]
            : column === ObservationColumn.LAST_TOTAL_QUANTITY
              ? [q / 2, 1]
              : column === ObservationColumn.STEP_FRACTION
                ? [0.5, 1]
                : [1, 0];
      this.scales[j] = s;
      this.centers[j] = c;
    });
    this.follower = run.tier > 0;
    const me = run.firms.find((f) => f.id === run.firmId);
    this.useLast = run.adjustmentCost > 0;
    this.useCost = me?.cost.kind === "learning-by-doing";
    const inputs = this.obsCols + (this.follower ? 1 : 0) + (this.useLast ? 1 : 0) + (this.useCost ? 1 : 0);
    // A firm whose observation has no varying column (one-round episodes, no shocks) still needs an
    // input: one constant zero column, so the network reduces to its biases.
    this.width = Math.max(1, inputs);
  }

  /** Writes the input rows (row-major B x width) into `out`. */
  build(ctx: ActContext, out: Float32Array): Float32Array {
    const { batch: B, quantityMax: q } = this.run;
    const C = this.obsCols;
    const W = this.width;
    const obs = ctx.observation;
    for (let i = 0; i < B; i++) {
      let o = i * W;
      for (let j = 0; j < C; j++) {
        const v = obs[i * C + j];
        out[o++] = v === undefined || !Number.isFinite(v) ? 0 : v / (this.scales[j] as number) - (this.centers[j] as number);
      }
      if (this.follower) out[o++] = (2 * (ctx.committedTotal[i] ?? 0)) / q - 1;
      if (this.useLast) out[o++] = (2 * (ctx.ownLastQuantity[i] ?? 0)) / q - 1;
      if (this.useCost) {
        const mc = ctx.ownMarginalCost[i] ?? 0;
        out[o++] = Number.isFinite(mc) ? mc / this.pScale : 0;
      }
      if (o === i * W) out[o] = 0; // the constant column of an input-less firm
    }
    return out;
  }
}
