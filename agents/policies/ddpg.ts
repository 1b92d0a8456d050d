/**
 * DDPG: a deterministic actor (quantity = sigmoid(actor(input)) * quantityMax) trained through a Q
 * critic, Gaussian exploration noise annealed from `noise` to `finalNoise` (shares of quantityMax),
 * a replay buffer and Polyak-averaged target networks, all in the firm's training worker. The
 * actor's input is the same as PPO's (observation, plus the committed total for followers).
 * MADDPG's critic also sees the quantities of the same round of the other firms that do not move
 * after this one: every other firm of its own tier and of earlier tiers (joint actions from the
 * market's training subject, centralized training); the actor still acts on its own input only.
 * Later tiers' quantities are left out (agents/learning/ctde.ts): with them MADDPG leaders drifted
 * to 49 and to 0.12 in the duopoly. A round's transition is complete once both its outcome (the
 * reward) and its training information (the critic's inputs) have arrived. With the profit objective the critic's
 * target is the round's profit; with the valuation objective it bootstraps within the episode.
 */
import { deriveSeed } from "../../market/economics/rng.js";
import type { PolicyConfig } from "../../services/config/index.js";
import { ConfigError } from "../../services/errors.js";
import { rewardScale } from "../learning/features.js";
import type { DdpgSpec, ExperienceBatch } from "../learning/messages.js";
import { NeuralPolicy } from "../learning/neural-policy.js";
import { anneal, type LearnerOptions } from "../learning/options.js";
import { criticPeers, TrainingJoin, writePeerInputs } from "../learning/ctde.js";
import type { ActContext, OutcomeView, RunView, TrainingView } from "../policy.js";

export type DdpgConfig = Extract<PolicyConfig, { kind: "ddpg" | "maddpg" }>;

interface Step {
  x: Float32Array;
  xc: Float32Array;
  a: Float32Array;
  r: Float32Array;
  /** The acting weights' version that chose `a` (for the policy-lag metric). */
  version: number;
}

export class DdpgPolicy extends NeuralPolicy {
  readonly kind: "ddpg" | "maddpg";
  private readonly dA: number;
  private readonly dC: number;
  private readonly stride: number;
  private readonly rScale: number;
  private readonly centralized: boolean;
  /** Indices (in run.firms) of the firms whose quantities a centralized critic sees. */
  private readonly peers: number[];
  /** MADDPG: rewarded rounds waiting for their training information. */
  private readonly joint = new TrainingJoin<{ p: { x: Float32Array; a: Float32Array; version: number }; r: Float32Array; episodeEnd: boolean }>((n) =>
    this.log?.warn({ missing: n }, "rounds without the market's training information: not trained on (is the training subject subscribed?)"),
  );
  /** This round's input and action, between act() and observe(). */
  private pending: { x: Float32Array; a: Float32Array; version: number } | undefined;
  /** Valuation: the previous round's step, waiting for its successor state. */
  private prev: Step | undefined;

  private constructor(
    run: RunView,
    private readonly cfg: DdpgConfig,
    opts: LearnerOptions,
  ) {
    super(run, opts);
    this.kind = cfg.kind;
    if (!(cfg.finalNoise <= cfg.noise)) throw new ConfigError(`firms.${run.firmId}.policy.finalNoise must be <= noise`);
    if (!(cfg.tau <= 1)) throw new ConfigError(`firms.${run.firmId}.policy.tau must be in (0, 1]`);
    this.centralized = cfg.kind === "maddpg";
    this.peers = this.centralized ? criticPeers(run) : [];
    this.dA = this.features.width;
    this.dC = this.dA + this.peers.length;
    this.stride = 2 * (this.dA + this.dC) + 3;
    this.rScale = rewardScale(run);
  }

  static async create(run: RunView, cfg: DdpgConfig, opts: LearnerOptions): Promise<DdpgPolicy> {
    const p = new DdpgPolicy(run, cfg, opts);
    await p.start(p.trainerSpec());
    return p;
  }

  private trainerSpec(): DdpgSpec {
    const c = this.cfg;
    return {
      algo: "ddpg",
      actorIn: this.dA,
      criticIn: this.dC,
      hidden: [...c.net.hidden],
      learningRate: c.net.learningRate,
      tau: c.tau,
      bufferSize: c.bufferSize,
      minibatch: c.minibatch,
      gamma: this.opts.objective === "valuation" ? this.opts.discount : 0,
      // About eight minibatch samples per new transition (at least one step per round).
      stepsPerUpdate: Math.max(1, Math.min(16, Math.round((8 * this.B) / c.minibatch))),
      seed: deriveSeed(this.run.seed, `trainer:${this.run.firmId}`),
    };
  }

  protected noiseShare(): number {
    return anneal(this.cfg.noise, this.cfg.finalNoise, this.trainedRounds / this.opts.trainingRounds);
  }

  protected actNow(ctx: ActContext): Float64Array {
    const B = this.B;
    const qMax = this.run.quantityMax;
    this.pending = undefined;
    // A round whose training information never came cannot be learned from; the open valuation
    // transition chain breaks there.
    if (this.joint.dropStale()) this.prev = undefined;
    if (this.exploring) return this.exploringActions(ctx);
    const x = this.features.build(ctx, new Float32Array(B * this.dA));
    const mu = this.actorMeans(x);
    const out = new Float64Array(B);
    if (!this.training) {
      for (let i = 0; i < B; i++) out[i] = (mu[i] as number) * qMax;
      return out;
    }
    const sigma = this.noiseShare();
    const a = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      const v = Math.min(Math.max((mu[i] as number) + sigma * this.rng.normal(), 0), 1);
      a[i] = v;
      out[i] = v * qMax;
    }
    this.pending = { x, a, version: this.actingVersion };
    return out;
  }

  observe(o: OutcomeView): void {
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined || !this.learning || o.absent) {
      this.prev = undefined;
      return;
    }
    const r = new Float32Array(this.B);
    for (let i = 0; i < this.B; i++) r[i] = (o.profit[i] ?? 0) / this.rScale;
    if (this.centralized) this.joint.expect(o.round, { p, r, episodeEnd: o.episodeEnd });
    else this.complete(p, r, o.episodeEnd, undefined);
  }

  /** MADDPG: the round's joint information completes the critic's input of its transition. */
  observeTraining(t: TrainingView): void {
    const w = this.joint.complete(t.round);
    if (w === undefined) return;
    this.complete(w.p, w.r, w.episodeEnd, t);
  }

  metrics(): Record<string, number> {
    return { ...super.metrics(), ...(this.centralized ? { missingTrainingInfo: this.joint.missing } : {}) };
  }

  private complete(p: { x: Float32Array; a: Float32Array; version: number }, r: Float32Array, episodeEnd: boolean, t: TrainingView | undefined): void {
    const { B, dA, dC } = this;
    const xc = new Float32Array(B * dC);
    for (let i = 0; i < B; i++) {
      xc.set(p.x.subarray(i * dA, (i + 1) * dA), i * dC);
      if (t) writePeerInputs(t, this.peers, B, i, this.run.quantityMax, xc, i * dC + dA);
    }
    const step: Step = { x: p.x, xc, a: p.a, r, version: p.version };
    this.trainedRounds++;
    if (this.opts.objective !== "valuation") {
      this.submit(this.transitions(step, undefined));
      return;
    }
    if (this.prev) this.submit(this.transitions(this.prev, step));
    if (episodeEnd) {
      this.submit(this.transitions(step, undefined));
      this.prev = undefined;
    } else this.prev = step;
  }

  /** B transitions [x, xc, a, r, done, x', xc']; no successor means the episode ended. */
  private transitions(s: Step, next: Step | undefined): ExperienceBatch {
    const { B, dA, dC, stride } = this;
    const data = new Float32Array(B * stride);
    for (let i = 0; i < B; i++) {
      let o = i * stride;
      data.set(s.x.subarray(i * dA, (i + 1) * dA), o);
      o += dA;
      data.set(s.xc.subarray(i * dC, (i + 1) * dC), o);
      o += dC;
      data[o++] = s.a[i] as number;
      data[o++] = s.r[i] as number;
      data[o++] = next ? 0 : 1;
      if (next) {
        data.set(next.x.subarray(i * dA, (i + 1) * dA), o);
        data.set(next.xc.subarray(i * dC, (i + 1) * dC), o + dA);
      }
    }
    return { rows: B, data, progress: Math.min(1, this.trainedRounds / this.opts.trainingRounds), behaviourVersion: s.version };
  }

  protected flush(phaseEnd: boolean): void {
    // Transitions go to the trainer as they complete; a phase end only drops the open one.
    if (phaseEnd) {
      this.prev = undefined;
      this.joint.dropStale();
    }
  }
}
