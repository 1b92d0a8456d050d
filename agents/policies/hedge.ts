/**
 * Hedge (multiplicative weights) over a quantity grid, on the acting thread (no tfjs). Full
 * information: after each round the firm computes, from the market model (the run's demand, its own
 * cost) and the others' public quantities, what every grid quantity would have earned in every
 * instance, and raises each weight by exp(eta * that profit / monopoly profit). The B instances are
 * B plays of one mixed strategy; a follower keeps one mixed strategy per context (the earlier tiers'
 * committed total, snapped to the grid spacing), so it can learn to react. Hedge is myopic: it
 * learns from per-round profits whatever the objective.
 */
import { totalCost } from "../../market/economics/costs.js";
import { price } from "../../market/economics/demand.js";
import { Rng, type RngState } from "../../market/economics/rng.js";
import { columnIndex, ObservationColumn } from "../../services/bus/index.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError } from "../../services/errors.js";
import { readCheckpoint, writeCheckpoint } from "../learning/checkpoint.js";
import { rewardScale } from "../learning/features.js";
import { QuantityGrid } from "../learning/grid.js";
import type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "../policy.js";

export type HedgeConfig = Extract<PolicyConfig, { kind: "hedge" }>;

interface HedgeMeta {
  kind: "hedge";
  steps: number;
  contexts: number;
  trainedRounds: number;
  rng: RngState;
}

interface Pending {
  context: Int32Array;
  shift: Float64Array;
  ownLast: Float64Array;
  ownMc: Float64Array;
  firstStep: boolean;
}

export class HedgePolicy implements Policy {
  readonly kind = "hedge";
  private readonly grid: QuantityGrid;
  private readonly K: number;
  private readonly B: number;
  private readonly F: number;
  private readonly me: number;
  private readonly contexts: number;
  private readonly ctxStep: number;
  private readonly rScale: number;
  /** Log-weights, contexts x K. */
  private readonly logW: Float64Array;
  private rng: Rng;
  private training = true;
  private exploring = false;
  private trainedRounds = 0;
  private pending: Pending | undefined;

  constructor(
    private readonly run: RunView,
    private readonly cfg: HedgeConfig,
  ) {
    this.grid = new QuantityGrid(cfg.grid, run.quantityMax, `firms.${run.firmId}.policy.grid`);
    this.K = this.grid.size;
    this.B = run.batch;
    this.F = Math.max(1, run.firms.length);
    this.me = Math.max(
      0,
      run.firms.findIndex((f) => f.id === run.firmId),
    );
    const earlier = run.firms.filter((f) => f.tier < run.tier).length;
    // A follower's contexts: committed totals in [0, earlier * quantityMax] at the grid's spacing.
    this.ctxStep = run.quantityMax / Math.max(1, this.K - 1);
    this.contexts = earlier === 0 ? 1 : Math.round((earlier * run.quantityMax) / this.ctxStep) + 1;
    this.rScale = rewardScale(run);
    this.logW = new Float64Array(this.contexts * this.K);
    this.rng = Rng.fromName(run.seed, `explore:${run.firmId}`);
  }

  private contextOf(committed: number): number {
    if (this.contexts === 1) return 0;
    return Math.min(Math.max(Math.round(committed / this.ctxStep), 0), this.contexts - 1);
  }

  /** The mixed strategy of a context (probabilities over the grid). */
  strategy(context = 0): Float64Array {
    const K = this.K;
    const w = this.logW.subarray(context * K, (context + 1) * K);
    let m = -Infinity;
    for (const v of w) if (v > m) m = v;
    const p = new Float64Array(K);
    let s = 0;
    for (let k = 0; k < K; k++) {
      p[k] = Math.exp((w[k] as number) - m);
      s += p[k] as number;
    }
    for (let k = 0; k < K; k++) p[k] = (p[k] as number) / s;
    return p;
  }

  /** The grid quantity with the most weight in a context. */
  mode(context = 0): number {
    const K = this.K;
    let best = 0;
    for (let k = 1; k < K; k++) if ((this.logW[context * K + k] as number) > (this.logW[context * K + best] as number)) best = k;
    return this.grid.points[best] as number;
  }

  /** The strategy's mean quantity in a context. */
  meanQuantity(context = 0): number {
    const p = this.strategy(context);
    let s = 0;
    for (let k = 0; k < this.K; k++) s += (p[k] as number) * (this.grid.points[k] as number);
    return s;
  }

  act(ctx: ActContext): Float64Array {
    const B = this.B;
    const out = new Float64Array(B);
    this.pending = undefined;
    if (this.exploring) {
      for (let i = 0; i < B; i++) out[i] = this.rng.uniform(0, this.run.quantityMax);
      return out;
    }
    const cols = this.run.observationColumns.length;
    const shiftCol = columnIndex(this.run.observationColumns, ObservationColumn.DEMAND_SHIFT);
    const context = new Int32Array(B);
    const shift = new Float64Array(B);
    const cache = new Map<number, Float64Array>();
    for (let i = 0; i < B; i++) {
      const c = this.contextOf(ctx.committedTotal[i] ?? 0);
      context[i] = c;
      shift[i] = shiftCol >= 0 ? (ctx.observation[i * cols + shiftCol] ?? 0) : 0;
      if (!this.training) {
        out[i] = this.mode(c);
        continue;
      }
      let p = cache.get(c);
      if (p === undefined) {
        p = this.strategy(c);
        cache.set(c, p);
      }
      // Inverse-CDF draw from the mixed strategy.
      let u = this.rng.next();
      let k = 0;
      while (k < this.K - 1 && u >= (p[k] as number)) u -= p[k++] as number;
      out[i] = this.grid.points[k] as number;
    }
    if (this.training)
      this.pending = {
        context,
        shift,
        ownLast: ctx.ownLastQuantity.slice(),
        ownMc: ctx.ownMarginalCost.slice(),
        firstStep: ctx.step === 0,
      };
    return out;
  }

  /** What quantity q would have earned in an instance, everything else as it was. */
  private counterfactual(q: number, others: number, i: number, p: Pending): number {
    const run = this.run;
    const cost = run.firms[this.me]?.cost;
    const pr = price(run.demand, others + q, p.shift[i] ?? 0);
    const revenue = q > 0 ? (Number.isFinite(pr) ? pr * q : 0) : 0;
    let c = 0;
    if (cost) {
      const mc = p.ownMc[i];
      // Learning-by-doing: the marginal cost the market charged this round (from the move request).
      c =
        cost.kind === "learning-by-doing" && mc !== undefined && Number.isFinite(mc)
          ? (cost.fixed ?? 0) + mc * q
          : totalCost(cost, q);
    }
    if (run.adjustmentCost > 0 && !p.firstStep) {
      const dq = q - (p.ownLast[i] ?? 0);
      c += 0.5 * run.adjustmentCost * dq * dq;
    }
    return revenue - c;
  }

  observe(o: OutcomeView): void {
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined || !this.training || this.exploring || o.absent) return;
    const { B, K, F, me } = this;
    if (o.allQuantities.length !== F * B) return;
    const scale = this.cfg.eta / this.rScale;
    for (let i = 0; i < B; i++) {
      let others = 0;
      for (let f = 0; f < F; f++) if (f !== me) others += o.allQuantities[f * B + i] as number;
      const base = (p.context[i] as number) * K;
      for (let k = 0; k < K; k++) {
        const u = this.counterfactual(this.grid.points[k] as number, others, i, p);
        this.logW[base + k] = (this.logW[base + k] as number) + scale * u;
      }
    }
    // Keep log-weights near zero: only differences matter.
    for (let c = 0; c < this.contexts; c++) {
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, this.logW[c * K + k] as number);
      for (let k = 0; k < K; k++) this.logW[c * K + k] = (this.logW[c * K + k] as number) - m;
    }
    this.trainedRounds++;
  }

  onPhase(phase: PhaseView): void {
    this.training = phase.training;
    this.exploring = phase.exploring;
  }

  metrics(): Record<string, number> {
    const p = this.strategy(0);
    let ent = 0;
    for (const v of p) if (v > 0) ent -= v * Math.log(v);
    return { entropy: ent, meanQuantity: this.meanQuantity(0), trainedRounds: this.trainedRounds };
  }

  async save(dir: string): Promise<void> {
    const meta: HedgeMeta = {
      kind: "hedge",
      steps: this.K,
      contexts: this.contexts,
      trainedRounds: this.trainedRounds,
      rng: this.rng.snapshot(),
    };
    await writeCheckpoint(dir, this.run.firmId, { meta, blobs: { logWeights: this.logW } });
  }

  async load(dir: string): Promise<boolean> {
    const cp = await readCheckpoint<HedgeMeta>(dir, this.run.firmId);
    if (cp === undefined) return false;
    const m = cp.meta;
    const w = cp.blobs.logWeights;
    if (m.kind !== "hedge" || m.steps !== this.K || m.contexts !== this.contexts || !w || w.length !== this.logW.length)
      throw new ConfigError(`checkpoint of ${this.run.firmId} does not fit this hedge policy (grid or tiers differ)`);
    this.logW.set(w);
    this.trainedRounds = m.trainedRounds;
    this.rng = Rng.restore(m.rng);
    return true;
  }
}
