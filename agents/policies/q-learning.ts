/**
 * Tabular Q-learning on a quantity grid, on the acting thread (no tfjs). The state of an instance is
 * the last round's quantities of every firm, each snapped to the grid (plus "no history" at the
 * start); a follower's state also holds the earlier tiers' quantities of the current round, so it
 * can learn to react. Epsilon-greedy exploration with epsilon = epsilon0 * exp(-epsilonDecay * n),
 * n = samples learned from (rounds * B). Rewards are profits divided by the firm's monopoly profit.
 * Profit objective: Q(s, a) tracks the round's profit. Valuation: the target bootstraps
 * r + gamma max Q(s', .) within the episode.
 */
import { Rng, type RngState } from "../../market/economics/rng.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError, RuntimeFailure } from "../../services/errors.js";
import { readCheckpoint, writeCheckpoint } from "../learning/checkpoint.js";
import { rewardScale } from "../learning/features.js";
import { QuantityGrid } from "../learning/grid.js";
import type { LearnerOptions } from "../learning/options.js";
import type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "../policy.js";

export type QLearningConfig = Extract<PolicyConfig, { kind: "q-learning" }>;

interface QMeta {
  kind: "q-learning";
  steps: number;
  dims: number;
  trainedRounds: number;
  rng: RngState;
}

export class QLearningPolicy implements Policy {
  readonly kind = "q-learning";
  private readonly grid: QuantityGrid;
  private readonly K: number;
  private readonly B: number;
  private readonly F: number;
  /** Earlier-tier firms whose current quantities a follower sees. */
  private readonly earlier: string[];
  private readonly rScale: number;
  private readonly q = new Map<number, Float64Array>();
  /** Every firm's last grid index per instance, firm-major; K means "no history". */
  private readonly last: Int32Array;
  private rng: Rng;
  private training = true;
  private exploring = false;
  private trainedRounds = 0;
  private pending: { s: Float64Array; k: Int32Array } | undefined;
  /** Valuation: last round's (state, action, reward), waiting for the successor state. */
  private prev: { s: Float64Array; k: Int32Array; r: Float64Array } | undefined;

  constructor(
    private readonly run: RunView,
    private readonly cfg: QLearningConfig,
    private readonly opts: LearnerOptions,
  ) {
    this.grid = new QuantityGrid(cfg.grid, run.quantityMax, `firms.${run.firmId}.policy.grid`);
    this.K = this.grid.size;
    this.B = run.batch;
    this.F = Math.max(1, run.firms.length);
    this.earlier = run.firms.filter((f) => f.tier < run.tier).map((f) => f.id);
    const dims = this.F + this.earlier.length;
    if ((this.K + 1) ** dims > Number.MAX_SAFE_INTEGER)
      throw new ConfigError(
        `firms.${run.firmId}.policy.grid.steps: ${this.K} points over ${dims} quantities is too many states for a table`,
      );
    this.rScale = rewardScale(run);
    this.last = new Int32Array(this.F * this.B).fill(this.K);
    this.rng = Rng.fromName(run.seed, `explore:${run.firmId}`);
  }

  private get learning(): boolean {
    return this.training && !this.exploring;
  }

  /** Exploration probability now. */
  epsilon(): number {
    return this.cfg.epsilon * Math.exp(-this.cfg.epsilonDecay * this.trainedRounds * this.B);
  }

  private row(s: number): Float64Array {
    let r = this.q.get(s);
    if (r === undefined) {
      r = new Float64Array(this.K);
      this.q.set(s, r);
    }
    return r;
  }

  /** Greedy index, ties broken at random (an unseen state has all ties). */
  private argmax(r: Float64Array): number {
    let best = -Infinity;
    let n = 0;
    let pick = 0;
    for (let k = 0; k < r.length; k++) {
      const v = r[k] as number;
      if (v > best) {
        best = v;
        n = 1;
        pick = k;
      } else if (v === best && this.rng.int(++n) === 0) pick = k;
    }
    return pick;
  }

  act(ctx: ActContext): Float64Array {
    const { B, K, F } = this;
    const out = new Float64Array(B);
    const states = new Float64Array(B);
    const committed = this.earlier.map((id) => ctx.committed.get(id));
    for (let i = 0; i < B; i++) {
      let s = 0;
      for (let f = 0; f < F; f++) s = s * (K + 1) + (this.last[f * B + i] as number);
      for (const c of committed) s = s * (K + 1) + (c ? this.grid.nearest(c[i] as number) : K);
      states[i] = s;
    }
    if (this.prev && this.learning) this.bootstrap(this.prev, states);
    this.prev = undefined;
    this.pending = undefined;
    if (this.exploring) {
      for (let i = 0; i < B; i++) out[i] = this.rng.uniform(0, this.run.quantityMax);
      return out;
    }
    const eps = this.training ? this.epsilon() : 0;
    const k = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      const r = this.q.get(states[i] as number);
      const a = eps > 0 && this.rng.next() < eps ? this.rng.int(K) : r ? this.argmax(r) : this.rng.int(K);
      k[i] = a;
      out[i] = this.grid.points[a] as number;
    }
    if (this.training) this.pending = { s: states, k };
    return out;
  }

  /** Valuation: completes last round's updates now that the successor states are known. */
  private bootstrap(prev: { s: Float64Array; k: Int32Array; r: Float64Array }, next: Float64Array): void {
    const g = this.opts.discount;
    for (let i = 0; i < this.B; i++) {
      const nr = this.q.get(next[i] as number);
      let m = 0;
      if (nr) {
        m = -Infinity;
        for (const v of nr) if (v > m) m = v;
      }
      this.update(prev.s[i] as number, prev.k[i] as number, (prev.r[i] as number) + g * m);
    }
  }

  private update(s: number, k: number, target: number): void {
    const r = this.row(s);
    r[k] = (r[k] as number) + this.cfg.alpha * (target - (r[k] as number));
  }

  observe(o: OutcomeView): void {
    const { B, F } = this;
    if (o.allQuantities.length === F * B)
      for (let j = 0; j < F * B; j++) this.last[j] = this.grid.nearest(o.allQuantities[j] as number);
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined || !this.learning || o.absent) return;
    const r = new Float64Array(B);
    for (let i = 0; i < B; i++) r[i] = (o.profit[i] ?? 0) / this.rScale;
    this.trainedRounds++;
    if (this.opts.objective === "valuation" && !o.episodeEnd) {
      this.prev = { s: p.s, k: p.k, r };
      return;
    }
    for (let i = 0; i < B; i++) this.update(p.s[i] as number, p.k[i] as number, r[i] as number);
  }

  onPhase(phase: PhaseView): void {
    this.training = phase.training;
    this.exploring = phase.exploring;
  }

  /** The greedy quantity in a state given as grid indices (tests and reports). */
  greedyAt(indices: number[]): number {
    let s = 0;
    for (const k of indices) s = s * (this.K + 1) + k;
    const r = this.q.get(s);
    return r ? (this.grid.points[this.argmax(r)] as number) : Number.NaN;
  }

  metrics(): Record<string, number> {
    return { epsilon: this.epsilon(), states: this.q.size, trainedRounds: this.trainedRounds };
  }

  async save(dir: string): Promise<void> {
    const keys = new Float64Array(this.q.size);
    const values = new Float64Array(this.q.size * this.K);
    let j = 0;
    for (const [s, r] of this.q) {
      keys[j] = s;
      values.set(r, j * this.K);
      j++;
    }
    const meta: QMeta = {
      kind: "q-learning",
      steps: this.K,
      dims: this.F + this.earlier.length,
      trainedRounds: this.trainedRounds,
      rng: this.rng.snapshot(),
    };
    await writeCheckpoint(dir, this.run.firmId, { meta, blobs: { keys, values, last: Float64Array.from(this.last) } });
  }

  async load(dir: string): Promise<boolean> {
    const cp = await readCheckpoint<QMeta>(dir, this.run.firmId);
    if (cp === undefined) return false;
    const m = cp.meta;
    if (m.kind !== "q-learning" || m.steps !== this.K || m.dims !== this.F + this.earlier.length)
      throw new ConfigError(`checkpoint of ${this.run.firmId} does not fit this q-learning table (grid or firms differ)`);
    const { keys, values, last } = cp.blobs;
    if (!keys || !values) throw new RuntimeFailure(`checkpoint of ${this.run.firmId} has no Q table`);
    this.q.clear();
    for (let j = 0; j < keys.length; j++)
      this.q.set(keys[j] as number, Float64Array.from(values.subarray(j * this.K, (j + 1) * this.K)));
    if (last && last.length === this.last.length) this.last.set(Int32Array.from(last));
    this.trainedRounds = m.trainedRounds;
    this.rng = Rng.restore(m.rng);
    return true;
  }
}
