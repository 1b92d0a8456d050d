/**
 * Hedge (multiplicative weights) over a quantity grid, on the acting thread (no tfjs). Full
 * information: after each round the firm computes, from the market model (the run's demand, its own
 * cost) and the public quantities, what every grid quantity would have earned in every instance,
 * and raises each weight by exp(eta * that profit / monopoly profit). The B instances are B plays of
 * one mixed strategy.
 *
 * A follower keeps one mixed strategy per context: the earlier tiers' committed total, snapped to
 * the grid's spacing, so it learns a reaction function.
 *
 * A firm with later tiers (a leader) evaluates a quantity against the later tiers' response to it,
 * not against their last play (which would make it a Cournot player): it keeps a reaction table,
 * learned from the outcomes it sees, of the later tiers' total output after each total of the tiers
 * up to its own (its quantity, plus the earlier tiers' and its own tier's), snapped to the grid's
 * spacing (exponential moving average, `reactionRate`; unseen totals interpolate linearly between
 * seen ones). It records every outcome, and restarts the table at every phase change: responses
 * seen while the followers were learning do not describe them frozen. In a leader phase its mixed
 * strategy starts uniform over the grid, so the first rounds see the followers' response across the
 * whole range (in the simultaneous schedule the table keeps tracking them). This assumes only
 * what the game's structure says (later tiers move after seeing the committed quantities), nothing
 * about how the followers decide; the followers' best reply computed from the public model would
 * instead assume they are rational, which a learning follower is not yet. `anticipation: none`
 * keeps the last-play evaluation.
 *
 * Hedge is myopic: it learns from per-round profits whatever the objective.
 */
import { totalCost } from "../../market/economics/costs.js";
import { price } from "../../market/economics/demand.js";
import { Rng, type RngState } from "../../market/economics/rng.js";
import { columnIndex, ObservationColumn } from "../../services/bus/index.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError } from "../../services/errors.js";
import { readCheckpoint, writeCheckpoint } from "../learning/checkpoint.js";
import { rewardScale } from "../learning/features.js";
import { QuantityGrid, relevantQuantityMax } from "../learning/grid.js";
import type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "../policy.js";

export type HedgeConfig = Extract<PolicyConfig, { kind: "hedge" }>;

/** Checkpoint metadata, format 2 (format 1 had no version, no grid range and no reaction table). */
interface HedgeMeta {
  kind: "hedge";
  version?: 2;
  steps: number;
  contexts: number;
  gridMin?: number;
  gridMax?: number;
  reactionKeys?: number;
  trainedRounds: number;
  rng: RngState;
}

/** Log-weights closer than this are ties for the mode. */
const TIE = 1e-9;

interface Pending {
  shift: Float64Array;
  ownLast: Float64Array;
  ownMc: Float64Array;
  firstStep: boolean;
}

export class HedgePolicy implements Policy {
  readonly kind = "hedge";
  readonly grid: QuantityGrid;
  private readonly K: number;
  private readonly B: number;
  private readonly F: number;
  private readonly me: number;
  /** Tier of each firm, in the run's firm order. */
  private readonly tiers: number[];
  private readonly contexts: number;
  private readonly rScale: number;
  /** Log-weights, contexts x K. */
  private readonly logW: Float64Array;
  /** Reaction table (firms with later tiers, anticipation learned): later tiers' total by snapped total up to this tier. */
  private readonly reaction: Float64Array;
  private readonly seen: Uint8Array;
  private readonly anticipate: boolean;
  private rng: Rng;
  private training = true;
  private exploring = false;
  private trainedRounds = 0;
  private pending: Pending | undefined;
  private phaseName = "";

  constructor(
    private readonly run: RunView,
    private readonly cfg: HedgeConfig,
  ) {
    this.grid = new QuantityGrid(cfg.grid, run.quantityMax, `firms.${run.firmId}.policy.grid`, relevantQuantityMax(run));
    this.K = this.grid.size;
    this.B = run.batch;
    this.F = Math.max(1, run.firms.length);
    this.me = Math.max(
      0,
      run.firms.findIndex((f) => f.id === run.firmId),
    );
    this.tiers = run.firms.map((f) => f.tier);
    const earlier = run.firms.filter((f) => f.tier < run.tier).length;
    const upTo = run.firms.filter((f) => f.tier <= run.tier).length;
    const hasLater = run.firms.some((f) => f.tier > run.tier);
    // A follower's contexts: committed totals on the grid's lattice, up to every earlier firm at the grid's end.
    this.contexts = earlier === 0 ? 1 : earlier * (this.K - 1) + 1;
    this.anticipate = hasLater && cfg.anticipation === "learned";
    const keys = this.anticipate ? Math.ceil((upTo * this.grid.max) / this.grid.step) + 1 : 0;
    this.reaction = new Float64Array(keys);
    this.seen = new Uint8Array(keys);
    this.rScale = rewardScale(run);
    this.logW = new Float64Array(this.contexts * this.K);
    this.rng = Rng.fromName(run.seed, `explore:${run.firmId}`);
  }

  private contextOf(committed: number): number {
    return this.contexts === 1 ? 0 : this.grid.index(committed, this.contexts - 1);
  }

  /** The context index of an earlier tiers' committed total (0 for a leader). */
  context(committedTotal: number): number {
    return this.contextOf(committedTotal);
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

  /**
   * The grid quantity with the most weight in a context; among weights within TIE of the most, the
   * largest quantity. A consistent rule matters: a follower's best reply midway between two grid
   * points gives both the same weight, and ties broken by rounding noise would let a leader search
   * for the quantities where its follower happened to round down.
   */
  mode(context = 0): number {
    const K = this.K;
    const w = this.logW.subarray(context * K, (context + 1) * K);
    let m = -Infinity;
    for (const v of w) m = Math.max(m, v);
    let best = K - 1;
    while (best > 0 && (w[best] as number) < m - TIE) best--;
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
      for (let i = 0; i < B; i++) out[i] = this.grid.points[this.rng.int(this.K)] as number;
      return out;
    }
    const cols = this.run.observationColumns.length;
    const shiftCol = columnIndex(this.run.observationColumns, ObservationColumn.DEMAND_SHIFT);
    const shift = new Float64Array(B);
    const cache = new Map<number, Float64Array>();
    for (let i = 0; i < B; i++) {
      const c = this.contextOf(ctx.committedTotal[i] ?? 0);
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
        shift,
        ownLast: ctx.ownLastQuantity.slice(),
        ownMc: ctx.ownMarginalCost.slice(),
        firstStep: ctx.step === 0,
      };
    return out;
  }

  /** What quantity q would have earned in an instance, with `others` produced by everyone else. */
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

  /** Index of a total on the reaction table's lattice (multiples of the grid spacing). */
  private reactionKey(total: number): number {
    return Math.min(Math.max(Math.round(total / this.grid.step), 0), this.reaction.length - 1);
  }

  /** The table with unseen keys filled by linear interpolation between seen ones (NaN when none is seen). */
  private reactionCurve(): Float64Array {
    const n = this.reaction.length;
    const out = new Float64Array(n).fill(Number.NaN);
    let prev = -1;
    for (let k = 0; k < n; k++) {
      if (this.seen[k] !== 1) continue;
      out[k] = this.reaction[k] as number;
      if (prev < 0) for (let j = 0; j < k; j++) out[j] = out[k] as number;
      else
        for (let j = prev + 1; j < k; j++)
          out[j] = (out[prev] as number) + (((out[k] as number) - (out[prev] as number)) * (j - prev)) / (k - prev);
      prev = k;
    }
    if (prev >= 0) for (let j = prev + 1; j < n; j++) out[j] = out[prev] as number;
    return out;
  }

  /** The later tiers' expected total after a total `s` of the tiers up to this one (linear between lattice points). */
  private responseTo(curve: Float64Array, s: number): number {
    const x = Math.min(Math.max(s / this.grid.step, 0), curve.length - 1);
    const k = Math.floor(x);
    const a = curve[k] as number;
    const b = curve[Math.min(k + 1, curve.length - 1)] as number;
    return a + (b - a) * (x - k);
  }

  /** The learned response of the later tiers to a total of the tiers up to this one (NaN before any observation). */
  learnedResponse(total: number): number {
    return this.anticipate ? this.responseTo(this.reactionCurve(), total) : Number.NaN;
  }

  observe(o: OutcomeView): void {
    const p = this.pending;
    this.pending = undefined;
    const { B, K, F, me } = this;
    if (o.allQuantities.length !== F * B || o.absent) return;
    const myTier = this.tiers[me] ?? 0;
    // Per instance: earlier tiers' total, this tier's others' total, later tiers' total.
    const before = new Float64Array(B);
    const later = new Float64Array(B);
    const observedOthers = new Float64Array(B);
    for (let f = 0; f < F; f++) {
      if (f === me) continue;
      const t = this.tiers[f] ?? 0;
      for (let i = 0; i < B; i++) {
        const q = o.allQuantities[f * B + i] as number;
        observedOthers[i] = (observedOthers[i] as number) + q;
        if (t > myTier) later[i] = (later[i] as number) + q;
        else before[i] = (before[i] as number) + q;
      }
    }
    if (this.anticipate) {
      // Every outcome teaches the reaction table, exploring and frozen phases included.
      const rate = this.cfg.reactionRate;
      for (let i = 0; i < B; i++) {
        const k = this.reactionKey((before[i] as number) + (o.allQuantities[me * B + i] as number));
        const v = later[i] as number;
        if (this.seen[k] === 1) this.reaction[k] = (this.reaction[k] as number) + rate * (v - (this.reaction[k] as number));
        else {
          this.reaction[k] = v;
          this.seen[k] = 1;
        }
      }
    }
    if (p === undefined || !this.training || this.exploring) return;
    const curve = this.anticipate ? this.reactionCurve() : undefined;
    const scale = this.cfg.eta / this.rScale;
    const touched = new Set<number>();
    for (let i = 0; i < B; i++) {
      // The context this instance was played in: the earlier tiers' committed total (0 for a leader).
      let committed = 0;
      for (let f = 0; f < F; f++) if ((this.tiers[f] ?? 0) < myTier) committed += o.allQuantities[f * B + i] as number;
      const c = this.contextOf(committed);
      touched.add(c);
      const base = c * K;
      const b = before[i] as number;
      for (let k = 0; k < K; k++) {
        const q = this.grid.points[k] as number;
        let others = observedOthers[i] as number;
        if (curve) {
          const r = this.responseTo(curve, b + q);
          if (Number.isFinite(r)) others = b + r;
        }
        this.logW[base + k] = (this.logW[base + k] as number) + scale * this.counterfactual(q, others, i, p);
      }
    }
    // Keep log-weights near zero: only differences matter.
    for (const c of touched) {
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, this.logW[c * K + k] as number);
      for (let k = 0; k < K; k++) this.logW[c * K + k] = (this.logW[c * K + k] as number) - m;
    }
    this.trainedRounds++;
  }

  onPhase(phase: PhaseView): void {
    this.training = phase.training;
    this.exploring = phase.exploring;
    // Responses seen in another phase (followers learning, or frozen) do not describe the followers now.
    if (phase.name !== this.phaseName) this.seen.fill(0);
    this.phaseName = phase.name;
  }

  metrics(): Record<string, number> {
    const p = this.strategy(0);
    let ent = 0;
    for (const v of p) if (v > 0) ent -= v * Math.log(v);
    let seen = 0;
    for (const v of this.seen) seen += v;
    return {
      entropy: ent,
      meanQuantity: this.meanQuantity(0),
      trainedRounds: this.trainedRounds,
      ...(this.anticipate ? { reactionSeen: seen } : {}),
    };
  }

  async save(dir: string): Promise<void> {
    const meta: HedgeMeta = {
      kind: "hedge",
      version: 2,
      steps: this.K,
      contexts: this.contexts,
      gridMin: this.grid.min,
      gridMax: this.grid.max,
      reactionKeys: this.reaction.length,
      trainedRounds: this.trainedRounds,
      rng: this.rng.snapshot(),
    };
    await writeCheckpoint(dir, this.run.firmId, {
      meta,
      blobs: { logWeights: this.logW, reaction: this.reaction, reactionSeen: Float64Array.from(this.seen) },
    });
  }

  /**
   * Loads format 2, or format 1 (before the market-derived grid and the reaction table) when this
   * grid is format 1's default, [0, quantityMax] with the same number of points; a format-1
   * checkpoint brings no reaction table (it is learned again).
   */
  async load(dir: string): Promise<boolean> {
    const cp = await readCheckpoint<HedgeMeta>(dir, this.run.firmId);
    if (cp === undefined) return false;
    const m = cp.meta;
    const w = cp.blobs.logWeights;
    const who = `checkpoint of ${this.run.firmId}`;
    if (m.kind !== "hedge" || m.steps !== this.K || m.contexts !== this.contexts || !w || w.length !== this.logW.length)
      throw new ConfigError(`${who} does not fit this hedge policy (grid or tiers differ)`);
    const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    if (m.version === undefined) {
      if (this.grid.min !== 0 || !same(this.grid.max, this.run.quantityMax))
        throw new ConfigError(`${who} is format 1 (grid [0, quantityMax]); load it with grid.min: 0 and grid.max: quantityMax`);
    } else if (!same(m.gridMin ?? Number.NaN, this.grid.min) || !same(m.gridMax ?? Number.NaN, this.grid.max))
      throw new ConfigError(`${who} does not fit this hedge policy (grid range differs)`);
    this.logW.set(w);
    const r = cp.blobs.reaction;
    const s = cp.blobs.reactionSeen;
    this.reaction.fill(0);
    this.seen.fill(0);
    if (r && s && r.length === this.reaction.length && s.length === this.seen.length) {
      this.reaction.set(r);
      for (let k = 0; k < s.length; k++) this.seen[k] = s[k] === 1 ? 1 : 0;
    }
    this.trainedRounds = m.trainedRounds;
    this.rng = Rng.restore(m.rng);
    return true;
  }
}
