/**
 * PPO with a Gaussian policy on the quantity: mean = sigmoid(actor(input)) * quantityMax, standard
 * deviation scheduled from initialStd to finalStd (shares of quantityMax) over the firm's training
 * rounds, samples clipped into [0, quantityMax]. A leader's actor sees its normalized observation; a
 * follower's also sees the earlier tiers' committed total, so it learns a reaction function. The
 * value baseline is a second network; with the valuation objective advantages are GAE(lambda)
 * over the episode, with the profit objective every round is its own one-step episode.
 * MAPPO differs only in the critic's input, which adds joint information from the market's
 * training subject (CTDE): the same round's quantities of the firms of its own and earlier tiers
 * (agents/learning/ctde.ts says why those). A round's experience row is complete once both the
 * outcome (its reward) and the training information (the critic's inputs) have arrived; the actor
 * never sees the joint information, and an evaluation run (no training subject) never needs it.
 */
import { deriveSeed } from "../../market/economics/rng.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError } from "../../services/errors.js";
import { rewardScale } from "../learning/features.js";
import type { PpoSpec } from "../learning/messages.js";
import { NeuralPolicy } from "../learning/neural-policy.js";
import { anneal, type LearnerOptions } from "../learning/options.js";
import { instancesOf } from "../../services/config/phases.js";
import { criticPeers, TrainingJoin, writePeerInputs } from "../learning/ctde.js";
import type { ActContext, OutcomeView, RunView, TrainingView } from "../policy.js";

export type PpoConfig = Extract<PolicyConfig, { kind: "ppo" | "mappo" }>;

export class PpoPolicy extends NeuralPolicy {
  readonly kind: "ppo" | "mappo";
  private readonly dA: number;
  private readonly dC: number;
  /** Values per sample in an experience row: x, xc, action, mean, reward, done, sigma. */
  private readonly S: number;
  private readonly rScale: number;
  private readonly centralized: boolean;
  /** Indices in run.firms of the firms whose same-round quantities MAPPO's critic sees. */
  private readonly peers: number[];
  /** MAPPO: rewarded rows waiting for their round's training information. */
  private readonly joint = new TrainingJoin<{ row: Float32Array; version: number; done: number }>((n) =>
    this.log?.warn({ missing: n }, "rounds without the market's training information: not trained on (is the training subject subscribed?)"),
  );
  private readonly x: Float32Array;
  /** The row being filled between act() and observe(), and the acting weights' version that made it. */
  private pending: Float32Array | undefined;
  private pendingVersion = 0;
  private rows: Float32Array[] = [];
  /** The acting weights' version of each row in `rows`. */
  private versions: number[] = [];
  /** Index in `rows` where the current (unfinished) episode starts. */
  private episodeStart = 0;
  private readonly antithetic = true;
  /**
   * The instances this firm explores and learns in (all B unless the schedule splits them among
   * the firms learning with it; then it plays its greedy quantity in the others). Experience rows
   * hold these instances only, in this order.
   */
  private readonly own: number[];

  private constructor(
    run: RunView,
    private readonly cfg: PpoConfig,
    opts: LearnerOptions,
  ) {
    super(run, opts);
    this.kind = cfg.kind;
    if (!(cfg.finalStd <= cfg.initialStd)) throw new ConfigError(`firms.${run.firmId}.policy.finalStd must be <= initialStd`);
    this.centralized = cfg.kind === "mappo";
    this.peers = this.centralized ? criticPeers(run) : [];
    this.dA = this.features.width;
    this.dC = this.dA + this.peers.length;
    this.S = this.dA + this.dC + 5;
    this.rScale = rewardScale(run);
    this.x = new Float32Array(this.B * this.dA);
    // The phase plan gives MAPPO no share (services/config/phases.ts, SPLITTING_KINDS).
    this.own = instancesOf(opts.instanceShare ?? { slot: 0, of: 1 }, this.B);
  }

  /** Builds the policy and its trainer (a piscina worker unless opts.inline). */
  static async create(run: RunView, cfg: PpoConfig, opts: LearnerOptions): Promise<PpoPolicy> {
    const p = new PpoPolicy(run, cfg, opts);
    await p.start(p.trainerSpec());
    return p;
  }

  private trainerSpec(): PpoSpec {
    const c = this.cfg;
    return {
      algo: "ppo",
      actorIn: this.dA,
      criticIn: this.dC,
      hidden: [...c.net.hidden],
      learningRate: c.net.learningRate,
      epochs: c.epochs,
      minibatch: c.minibatch,
      clip: c.clip,
      gamma: this.opts.objective === "valuation" ? this.opts.discount : 0,
      lambda: c.lambda,
      batch: this.own.length,
      seed: deriveSeed(this.run.seed, `trainer:${this.run.firmId}`),
    };
  }

  protected noiseShare(): number {
    return anneal(this.cfg.initialStd, this.cfg.finalStd, this.trainedRounds / this.opts.trainingRounds);
  }

  protected actNow(ctx: ActContext): Float64Array {
    const { B, dA, dC, S } = this;
    const qMax = this.run.quantityMax;
    this.pending = undefined;
    if (this.joint.dropStale()) this.dropEpisode();
    if (this.exploring) return this.exploringActions(ctx);
    const x = this.features.build(ctx, this.x);
    const means = this.actorMeans(x);
    const out = new Float64Array(B);
    if (!this.training) {
      for (let i = 0; i < B; i++) out[i] = (means[i] as number) * qMax;
      return out;
    }
    const sigma = this.noiseShare();
    const own = this.own;
    const row = new Float32Array(own.length * S);
    const eps = this.noise(means);
    // Instances outside this firm's share (when the schedule splits them) get the greedy quantity.
    if (own.length < B) for (let i = 0; i < B; i++) out[i] = (means[i] as number) * qMax;
    for (let j = 0; j < own.length; j++) {
      const i = own[j] as number;
      const m = means[i] as number;
      const a = m + sigma * (eps[j] as number);
      out[i] = Math.min(Math.max(a, 0), 1) * qMax;
      const o = j * S;
      const xi = x.subarray(i * dA, (i + 1) * dA);
      row.set(xi, o);
      row.set(xi, o + dA);
      // The behaviour policy, as the acting copy computed it now: the trainer's ratio (or, with a
      // policy lag, its off-policy weight) is taken against this mean and sigma, whatever its own
      // weights are by the time it trains. The unclipped sample is what the Gaussian produced:
      // its log-probability is the one to use.
      row[o + dA + dC] = a;
      row[o + dA + dC + 1] = m;
      row[o + dA + dC + 4] = sigma;
    }
    this.pending = row;
    this.pendingVersion = this.actingVersion;
    return out;
  }

  /**
   * Standard normal noise per instance of the firm's share (in its order), antithetic in pairs:
   * instances are paired by closeness of their policy means (hence of their states) and the two
   * draw +e and -e. Every sample is still
   * N(m, sigma^2), but within a pair the reward's curvature term and the value baseline's error
   * (nearly the same for both) cancel out of the policy gradient, which is what lets the mean
   * settle to a fraction of a unit.
   */
  private noise(means: Float32Array): Float64Array {
    const own = this.own;
    const B = own.length;
    const eps = new Float64Array(B);
    if (!this.antithetic) {
      for (let i = 0; i < B; i++) eps[i] = this.rng.normal();
      return eps;
    }
    const mean = (j: number) => means[own[j] as number] as number;
    const order = Array.from({ length: B }, (_, i) => i).sort((i, j) => mean(i) - mean(j) || i - j);
    for (let k = 0; k < B; k += 2) {
      const e = this.rng.normal();
      eps[order[k] as number] = e;
      if (k + 1 < B) eps[order[k + 1] as number] = -e;
    }
    return eps;
  }

  observe(o: OutcomeView): void {
    const { own, dA, dC, S } = this;
    const row = this.pending;
    this.pending = undefined;
    if (row === undefined || !this.learning) return;
    const valuation = this.opts.objective === "valuation";
    if (o.absent) {
      // The market played a default action for us: this round (and, for a valuation, the
      // unfinished episode around it) says nothing about the policy.
      this.dropEpisode();
      return;
    }
    const done = valuation ? (o.episodeEnd ? 1 : 0) : 1;
    for (let j = 0; j < own.length; j++) {
      const k = j * S + dA + dC;
      row[k + 2] = (o.profit[own[j] as number] ?? 0) / this.rScale;
      row[k + 3] = done;
    }
    if (this.centralized) this.joint.expect(o.round, { row, version: this.pendingVersion, done });
    else this.commit(row, this.pendingVersion, done);
  }

  /** MAPPO: the round's joint information completes the critic's input of its row. */
  observeTraining(t: TrainingView): void {
    const a = this.joint.complete(t.round);
    if (a === undefined) return;
    const { B, dA, S, own } = this;
    for (let j = 0; j < own.length; j++) writePeerInputs(t, this.peers, B, own[j] as number, this.run.quantityMax, a.row, j * S + 2 * dA);
    this.commit(a.row, a.version, a.done);
  }

  metrics(): Record<string, number> {
    return { ...super.metrics(), ...(this.centralized ? { missingTrainingInfo: this.joint.missing } : {}) };
  }

  private commit(row: Float32Array, version: number, done: number): void {
    this.rows.push(row);
    this.versions.push(version);
    this.trainedRounds++;
    if (done === 1) this.episodeStart = this.rows.length;
    if (this.rows.length >= this.cfg.horizon && this.episodeStart === this.rows.length) this.flush(false);
  }

  /** Drops the unfinished episode (valuation; with the profit objective every round is its own). */
  private dropEpisode(): void {
    if (this.opts.objective !== "valuation") return;
    this.rows.length = this.episodeStart;
    this.versions.length = this.episodeStart;
  }

  protected flush(phaseEnd: boolean): void {
    // Only whole episodes are trained on; a phase end drops the unfinished one.
    if (phaseEnd && this.joint.dropStale()) this.dropEpisode();
    const complete = this.episodeStart;
    const rows = this.rows.slice(0, complete);
    const versions = this.versions.slice(0, complete);
    this.rows = phaseEnd ? [] : this.rows.slice(complete);
    this.versions = phaseEnd ? [] : this.versions.slice(complete);
    this.episodeStart = 0;
    if (rows.length === 0) return;
    // One round (horizon 1) goes as it is: its buffer moves to the worker without a copy.
    const data = rows.length === 1 ? (rows[0] as Float32Array) : new Float32Array(rows.length * this.own.length * this.S);
    if (rows.length > 1) rows.forEach((r, t) => data.set(r, t * r.length));
    this.submit({
      rows: rows.length,
      data,
      progress: Math.min(1, this.trainedRounds / this.opts.trainingRounds),
      behaviourVersion: Math.min(...versions),
    });
  }
}
