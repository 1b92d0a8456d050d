/**
 * Tabular Q-learning on a quantity grid, on the acting thread (no tfjs).
 *
 * State of an instance. `memory: 0`: the earlier tiers' committed total of this round, snapped to
 * the grid's spacing (a follower's reaction-function argument; the price depends on the total
 * only); a leader has a single state. `memory: 1`: plus every firm's quantity of the last round,
 * each snapped to the grid (plus "no history" before the first round): the state of the
 * algorithmic-collusion studies.
 *
 * Update: Q(s, a) += alpha_n * (target - Q(s, a)), alpha_n = alpha (`alphaSchedule: constant`) or
 * max(alpha, 1/n) on the n-th update of (s, a) (`visits`: a running mean first, so deterministic
 * payoffs are learned exactly after one visit). Targets, in units of the firm's monopoly profit:
 * - `discount: 0` with the profit objective: the round's profit r;
 * - `discount: gamma > 0`: r + gamma max Q(s', .), s' the state at the firm's next move: the
 *   repeated game as one continuing task (Waltman & Kaymak 2008; Calvano et al. 2020); episode
 *   ends do not cut it (market dynamics reset there, the game goes on);
 * - `objective: valuation` (the firm's discount delta): r + delta max Q(s', .) within the episode,
 *   r at its last round: discounted cash flows of a finite episode. A firm uses one of the two.
 *
 * Exploration decays per round: t counts the rounds this firm has trained (one per round, whatever
 * the batch B). epsilon-greedy: a uniform grid quantity with probability
 * max(min, epsilon * exp(-decay t)), else greedy. Boltzmann: P(a) proportional to
 * exp(Q(s, a) / T_t), T_t = max(min, temperature * exp(-decay t)). Unvisited entries hold
 * `initialQ` (optimistic by default, so greedy play tries every quantity of a state once).
 * Exploring phases (alternating schedule) draw uniformly from the grid. A frozen firm (evaluation, or
 * a follower in a leader phase) plays the best quantity it has tried in the state.
 *
 * Grid: `steps` points from `min` to `max`, which defaults to the largest quantity any firm of the
 * run could produce profitably (grid.ts, relevantQuantityMax), so every firm shares one lattice.
 * Rewards are profits divided by the firm's monopoly profit.
 */
import { totalCost } from "../../market/economics/costs.js";
import { price } from "../../market/economics/demand.js";
import { Rng, type RngState } from "../../market/economics/rng.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError, RuntimeFailure } from "../../services/errors.js";
import { readCheckpoint, writeCheckpoint } from "../learning/checkpoint.js";
import { rewardScale } from "../learning/features.js";
import { QuantityGrid, relevantQuantityMax } from "../learning/grid.js";
import type { LearnerOptions } from "../learning/options.js";
import type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "../policy.js";

export type QLearningConfig = Extract<PolicyConfig, { kind: "q-learning" }>;

/** Checkpoint metadata, format 2 (format 1 had no version: last quantities of every firm plus each earlier firm's). */
interface QMeta {
  kind: "q-learning";
  version: 2;
  steps: number;
  gridMin: number;
  gridMax: number;
  memory: 0 | 1;
  firms: number;
  earlier: number;
  perInstance: boolean;
  /** 2K: the Q-values, then the visit counts. */
  rowLength: number;
  trainedRounds: number;
  rng: RngState;
}

interface QMetaV1 {
  kind: "q-learning";
  steps: number;
  dims: number;
  trainedRounds: number;
  rng: RngState;
}

/** Q-values (monopoly-profit units) closer than this are ties for the frozen greedy choice. */
const TIE = 1e-9;

/** Visit count given to entries of a checkpoint that kept none: "well visited", so updates use alpha. */
const WELL_VISITED = 1e9;

interface Step {
  s: Float64Array;
  k: Int32Array;
}

export class QLearningPolicy implements Policy {
  readonly kind = "q-learning";
  readonly grid: QuantityGrid;
  private readonly K: number;
  private readonly B: number;
  private readonly F: number;
  private readonly earlier: number;
  /** Committed-total contexts: 1 for a leader, else earlier * (K - 1) + 2 (the last one unused, kept for format 1). */
  private readonly cBase: number;
  private readonly cMax: number;
  private readonly rScale: number;
  /** A table row: K Q-values, then K visit counts. */
  private readonly rowLen: number;
  private readonly visits: boolean;
  /** Initial Q-value of each quantity. */
  private readonly init: Float64Array;
  /** Discount of the update target, and whether it bootstraps across episode ends (policy discount). */
  private readonly gamma: number;
  private readonly continuing: boolean;
  /** One table, or one per instance. */
  private readonly tables: Map<number, Float64Array>[];
  /** Every firm's last grid index per instance, firm-major; K means "no history". */
  private readonly last: Int32Array;
  private rng: Rng;
  private training = true;
  private exploring = false;
  private trainedRounds = 0;
  private pending: Step | undefined;
  /** Last round's (state, action, reward), waiting for the successor state. */
  private prev: (Step & { r: Float64Array }) | undefined;

  constructor(
    private readonly run: RunView,
    private readonly cfg: QLearningConfig,
    opts: LearnerOptions,
  ) {
    const path = `firms.${run.firmId}.policy`;
    this.grid = new QuantityGrid(cfg.grid, run.quantityMax, `${path}.grid`, relevantQuantityMax(run));
    this.K = this.grid.size;
    this.B = run.batch;
    this.F = Math.max(1, run.firms.length);
    this.earlier = run.firms.filter((f) => f.tier < run.tier).length;
    this.cMax = this.earlier * (this.K - 1);
    this.cBase = this.earlier === 0 ? 1 : this.cMax + 2;
    const states = (cfg.memory === 1 ? (this.K + 1) ** this.F : 1) * this.cBase;
    if (!(states <= Number.MAX_SAFE_INTEGER))
      throw new ConfigError(
        `${path}.grid.steps: ${this.K} points with memory ${cfg.memory} over ${this.F} firms is too many states for a table`,
      );
    if (cfg.discount > 0 && opts.objective === "valuation")
      throw new ConfigError(
        `${path}.discount: the firm's objective is valuation, which already discounts within each episode; use policy.discount (the repeated game as one continuing task) with objective profit, or valuation without it`,
      );
    this.continuing = cfg.discount > 0;
    this.gamma = this.continuing ? cfg.discount : opts.objective === "valuation" ? opts.discount : 0;
    const horizon = this.continuing
      ? 1 / (1 - this.gamma)
      : opts.objective === "valuation"
        ? Array.from({ length: run.roundsPerEpisode }, (_, k) => this.gamma ** k).reduce((a, b) => a + b, 0)
        : 1;
    this.rScale = rewardScale(run);
    this.init = new Float64Array(this.K);
    if (cfg.initialQ === "uniform-opponents") this.init.set(this.uniformOpponentsProfit());
    else this.init.fill(cfg.initialQ);
    for (let k = 0; k < this.K; k++) this.init[k] = (this.init[k] as number) * horizon;
    this.visits = cfg.alphaSchedule === "visits";
    this.rowLen = 2 * this.K;
    this.tables = Array.from({ length: cfg.tablePerInstance ? this.B : 1 }, () => new Map<number, Float64Array>());
    this.last = new Int32Array(this.F * this.B).fill(this.K);
    this.rng = Rng.fromName(run.seed, `explore:${run.firmId}`);
  }

  private get learning(): boolean {
    return this.training && !this.exploring;
  }

  private table(i: number): Map<number, Float64Array> {
    return this.tables[this.cfg.tablePerInstance ? i : 0] as Map<number, Float64Array>;
  }

  /** The exploration schedule's value now: epsilon, or the Boltzmann temperature. */
  explorationValue(): number {
    const e = this.cfg.exploration;
    const v = e.kind === "epsilon-greedy" ? e.epsilon : e.temperature;
    return Math.max(e.min, v * Math.exp(-e.decay * this.trainedRounds));
  }

  /** The state index of a committed total and (memory 1) the last round's grid indices of every firm. */
  private encode(committedTotal: number, lastIndex: (f: number) => number): number {
    let s = 0;
    if (this.cfg.memory === 1) for (let f = 0; f < this.F; f++) s = s * (this.K + 1) + lastIndex(f);
    return s * this.cBase + (this.earlier === 0 ? 0 : this.grid.index(committedTotal, this.cMax));
  }

  private newRow(): Float64Array {
    const r = new Float64Array(this.rowLen);
    r.set(this.init);
    return r;
  }

  /**
   * Each grid quantity's expected profit (monopoly-profit units) when the F - 1 other firms play
   * this grid uniformly at random and independently: the others' total has the distribution of a
   * sum of uniform grid indices (a convolution).
   */
  private uniformOpponentsProfit(): Float64Array {
    const K = this.K;
    let dist = Float64Array.of(1);
    for (let f = 1; f < this.F; f++) {
      const next = new Float64Array(dist.length + K - 1);
      for (let j = 0; j < dist.length; j++)
        for (let k = 0; k < K; k++) next[j + k] = (next[j + k] as number) + (dist[j] as number) / K;
      dist = next;
    }
    const me = this.run.firms.find((f) => f.id === this.run.firmId);
    const out = new Float64Array(K);
    for (let a = 0; a < K; a++) {
      const q = this.grid.points[a] as number;
      const c = me ? totalCost(me.cost, q) : 0;
      let e = 0;
      for (let j = 0; j < dist.length; j++) {
        const others = (this.F - 1) * this.grid.min + j * this.grid.step;
        const p = price(this.run.demand, q + others);
        e += (dist[j] as number) * ((Number.isFinite(p) ? p * q : 0) - c);
      }
      out[a] = e / this.rScale;
    }
    return out;
  }

  /** Greedy index, ties broken at random (an unseen state has the initial values). */
  private argmax(row: Float64Array | undefined): number {
    const r = row ?? this.init;
    let best = -Infinity;
    let n = 0;
    let pick = 0;
    for (let k = 0; k < this.K; k++) {
      const v = r[k] as number;
      if (v > best) {
        best = v;
        n = 1;
        pick = k;
      } else if (v === best && this.rng.int(++n) === 0) pick = k;
    }
    return pick;
  }

  /**
   * The frozen greedy index of a visited row: the best action tried in the state (the optimistic
   * initial values are an exploration device, not knowledge; all actions when none was tried), and
   * among actions within TIE of the best, the largest quantity. A consistent rule matters: a
   * reaction function whose ties (a best reply midway between two grid points) broke by rounding
   * noise would let a leader search for the quantities where its follower happened to round down.
   */
  private frozenIndex(r: Float64Array): number {
    const K = this.K;
    let only = false;
    for (let k = 0; k < K && !only; k++) only = (r[K + k] as number) > 0;
    let best = -Infinity;
    for (let k = 0; k < K; k++) if (!only || (r[K + k] as number) > 0) best = Math.max(best, r[k] as number);
    for (let k = K - 1; k >= 0; k--) if ((!only || (r[K + k] as number) > 0) && (r[k] as number) >= best - TIE) return k;
    return 0;
  }

  /** A draw from the softmax of the row at temperature T (an unseen state has the initial values). */
  private softmax(row: Float64Array | undefined, T: number): number {
    const K = this.K;
    const r = row ?? this.init;
    if (!(T > 1e-12)) return this.argmax(r);
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, r[k] as number);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(((r[k] as number) - m) / T);
    let u = this.rng.next() * sum;
    for (let k = 0; k < K - 1; k++) {
      u -= Math.exp(((r[k] as number) - m) / T);
      if (u < 0) return k;
    }
    return K - 1;
  }

  act(ctx: ActContext): Float64Array {
    const { B, K } = this;
    const out = new Float64Array(B);
    const states = new Float64Array(B);
    for (let i = 0; i < B; i++) states[i] = this.encode(ctx.committedTotal[i] ?? 0, (f) => this.last[f * B + i] as number);
    if (this.prev && this.learning) this.bootstrap(this.prev, states);
    this.prev = undefined;
    this.pending = undefined;
    if (this.exploring) {
      for (let i = 0; i < B; i++) out[i] = this.grid.points[this.rng.int(K)] as number;
      return out;
    }
    const e = this.cfg.exploration;
    const x = this.training ? this.explorationValue() : 0;
    const k = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      const r = this.table(i).get(states[i] as number);
      let a: number;
      if (!this.training) a = r === undefined ? this.argmax(r) : this.frozenIndex(r);
      else if (e.kind === "boltzmann") a = this.softmax(r, x);
      else a = x > 0 && this.rng.next() < x ? this.rng.int(K) : this.argmax(r);
      k[i] = a;
      out[i] = this.grid.points[a] as number;
    }
    if (this.training) this.pending = { s: states, k };
    return out;
  }

  private maxQ(r: Float64Array | undefined): number {
    if (r === undefined) r = this.init;
    let m = -Infinity;
    for (let k = 0; k < this.K; k++) m = Math.max(m, r[k] as number);
    return m;
  }

  /** Completes last round's updates now that the successor states are known. */
  private bootstrap(prev: Step & { r: Float64Array }, next: Float64Array): void {
    for (let i = 0; i < this.B; i++) {
      const m = this.maxQ(this.table(i).get(next[i] as number));
      this.update(i, prev.s[i] as number, prev.k[i] as number, (prev.r[i] as number) + this.gamma * m);
    }
  }

  private update(i: number, s: number, k: number, target: number): void {
    const t = this.table(i);
    let r = t.get(s);
    if (r === undefined) {
      r = this.newRow();
      t.set(s, r);
    }
    const n = (r[this.K + k] as number) + 1;
    r[this.K + k] = n;
    const a = this.visits ? Math.max(this.cfg.alpha, 1 / n) : this.cfg.alpha;
    r[k] = (r[k] as number) + a * (target - (r[k] as number));
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
    if (this.continuing || (this.gamma > 0 && !o.episodeEnd)) {
      this.prev = { s: p.s, k: p.k, r };
      return;
    }
    for (let i = 0; i < B; i++) this.update(i, p.s[i] as number, p.k[i] as number, r[i] as number);
  }

  onPhase(phase: PhaseView): void {
    this.training = phase.training;
    this.exploring = phase.exploring;
  }

  /**
   * The Q-values (copies) of the state a committed total and, with memory 1, the last round's
   * quantities of every firm (in the run's firm order) lead to; undefined for an unvisited state.
   */
  qValues(committedTotal: number, lastQuantities: number[] = [], instance = 0): Float64Array | undefined {
    const s = this.encode(committedTotal, (f) => {
      const q = lastQuantities[f];
      return q === undefined ? this.K : this.grid.nearest(q);
    });
    return this.table(instance).get(s)?.slice(0, this.K);
  }

  /** The frozen greedy quantity in that state (what the firm plays when not training); NaN when it was never visited. */
  greedyQuantity(committedTotal: number, lastQuantities: number[] = [], instance = 0): number {
    const s = this.encode(committedTotal, (f) => {
      const q = lastQuantities[f];
      return q === undefined ? this.K : this.grid.nearest(q);
    });
    const r = this.table(instance).get(s);
    return r === undefined ? Number.NaN : (this.grid.points[this.frozenIndex(r)] as number);
  }

  metrics(): Record<string, number> {
    let states = 0;
    for (const t of this.tables) states += t.size;
    const x = this.explorationValue();
    return {
      ...(this.cfg.exploration.kind === "boltzmann" ? { temperature: x } : { epsilon: x }),
      states,
      trainedRounds: this.trainedRounds,
    };
  }

  async save(dir: string): Promise<void> {
    let n = 0;
    for (const t of this.tables) n += t.size;
    const keys = new Float64Array(n);
    const inst = new Float64Array(n);
    const values = new Float64Array(n * this.rowLen);
    let j = 0;
    this.tables.forEach((t, i) => {
      for (const [s, r] of t) {
        keys[j] = s;
        inst[j] = i;
        values.set(r, j * this.rowLen);
        j++;
      }
    });
    const meta: QMeta = {
      kind: "q-learning",
      version: 2,
      steps: this.K,
      gridMin: this.grid.min,
      gridMax: this.grid.max,
      memory: this.cfg.memory,
      firms: this.F,
      earlier: this.earlier,
      perInstance: this.cfg.tablePerInstance,
      rowLength: this.rowLen,
      trainedRounds: this.trainedRounds,
      rng: this.rng.snapshot(),
    };
    await writeCheckpoint(dir, this.run.firmId, { meta, blobs: { keys, inst, values, last: Float64Array.from(this.last) } });
  }

  /**
   * Loads format 2, or format 1 (before memory and the market-derived grid) when its table has this
   * one's shape: memory 1, the same number of grid points, at most one earlier-tier firm (format 1
   * did not record the grid's range: its default was [0, quantityMax]). Format 1 kept no visit
   * counts: its entries count as well visited.
   */
  async load(dir: string): Promise<boolean> {
    const cp = await readCheckpoint<QMeta | QMetaV1>(dir, this.run.firmId);
    if (cp === undefined) return false;
    const m = cp.meta;
    const who = `checkpoint of ${this.run.firmId}`;
    if (m.kind !== "q-learning") throw new ConfigError(`${who} is not a q-learning table`);
    const { keys, values, last, inst } = cp.blobs;
    if (!keys || !values) throw new RuntimeFailure(`${who} has no Q table`);
    let rowLen: number;
    if (!("version" in m)) {
      if (
        this.cfg.memory !== 1 ||
        this.earlier > 1 ||
        m.steps !== this.K ||
        m.dims !== this.F + this.earlier ||
        this.cfg.tablePerInstance
      )
        throw new ConfigError(
          `${who} is a format-1 table (one-period memory, one table); load it with memory: 1, the same grid.steps and grid.max: quantityMax`,
        );
      rowLen = this.K;
    } else {
      const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
      if (
        m.steps !== this.K ||
        !same(m.gridMin, this.grid.min) ||
        !same(m.gridMax, this.grid.max) ||
        m.memory !== this.cfg.memory ||
        m.firms !== this.F ||
        m.earlier !== this.earlier ||
        m.perInstance !== this.cfg.tablePerInstance
      )
        throw new ConfigError(`${who} does not fit this q-learning table (grid, memory, firms or tablePerInstance differ)`);
      rowLen = m.rowLength;
    }
    if (values.length !== keys.length * rowLen) throw new RuntimeFailure(`${who}: Q table size does not match its keys`);
    for (const t of this.tables) t.clear();
    for (let j = 0; j < keys.length; j++) {
      const i = inst ? (inst[j] as number) : 0;
      const t = this.tables[i];
      if (t === undefined) throw new RuntimeFailure(`${who}: table of instance ${i} is out of range`);
      const r = this.newRow();
      r.set(values.subarray(j * rowLen, j * rowLen + this.K));
      if (rowLen === 2 * this.K) r.set(values.subarray(j * rowLen + this.K, (j + 1) * rowLen), this.K);
      else r.fill(WELL_VISITED, this.K);
      t.set(keys[j] as number, r);
    }
    if (last && last.length === this.last.length) this.last.set(Int32Array.from(last));
    this.trainedRounds = m.trainedRounds;
    this.rng = Rng.restore(m.rng);
    return true;
  }
}
