/**
 * An in-process market for learning tests: no bus, no NATS. Plays rounds the way the market service
 * does (tiers in order, observations reset at an episode start, clearing with market/economics,
 * phase announcements from the market's own phase plan) and hands each policy ActContexts and
 * OutcomeViews built here.
 */
import { clear } from "../../../market/economics/clearing.js";
import { marginalCost } from "../../../market/economics/costs.js";
import { advanceState, createState, resetState } from "../../../market/economics/dynamics.js";
import { Rng } from "../../../market/economics/rng.js";
import type { MarketModel, MarketState } from "../../../market/economics/types.js";
import { type Phase, phaseAt, phasesOf } from "../../../services/config/phases.js";
import type { Experiment, ResolvedFirm } from "../../../services/config/index.js";
import { parseExperiment } from "../../../services/config/load.js";
import type { ExperimentInput } from "../../../services/config/schema.js";
import type { ActContext, Policy, RunView, TrainingView } from "../../../agents/policy.js";
import { receivesTrainingInfo } from "../../../services/config/index.js";
import { OBSERVATION_COLUMNS as ALL_COLUMNS } from "../../../services/bus/index.js";
import { InlineHost, type TrainerHost } from "../../../agents/learning/host.js";
import type { ExperienceBatch, ResponseFor, WorkerRequest } from "../../../agents/learning/messages.js";

export const OBSERVATION_COLUMNS = [...ALL_COLUMNS];

export type MakePolicy = (run: RunView, firm: ResolvedFirm, exp: Experiment) => Promise<Policy>;

/** Everything one cleared round produced. */
export interface RoundRecord {
  round: number;
  phase: string;
  /** F*B, firm-major in exp.firms order (sorted by id). */
  quantities: Float64Array;
  profits: Float64Array;
  prices: Float64Array;
}

export class Harness {
  readonly exp: Experiment;
  readonly policies: Policy[] = [];
  readonly runs: RunView[] = [];
  round = 0;
  private readonly model: MarketModel;
  private readonly state: MarketState;
  private readonly shockRng: Rng;
  private readonly phases: Phase[];
  private phase: Phase | undefined;
  private readonly B: number;
  private readonly F: number;
  private readonly lastPrice: Float64Array;
  private readonly lastTotal: Float64Array;

  private constructor(exp: Experiment) {
    this.exp = exp;
    this.B = exp.market.batch;
    this.F = exp.firms.length;
    this.model = { demand: exp.market.demand, costs: exp.firms.map((f) => f.cost), dynamics: exp.market.dynamics, batch: this.B };
    this.state = createState(this.model);
    this.shockRng = Rng.fromName(exp.seed, "market-shocks");
    this.phases = phasesOf(exp);
    this.lastPrice = new Float64Array(this.B);
    this.lastTotal = new Float64Array(this.B);
  }

  static async create(input: ExperimentInput, make: MakePolicy): Promise<Harness> {
    const h = new Harness(parseExperiment(input, "test"));
    const exp = h.exp;
    for (const [k, firm] of exp.firms.entries()) {
      const run: RunView = {
        runId: "test",
        firmId: firm.id,
        firmIndex: k,
        tier: firm.tier,
        batch: h.B,
        roundsPerEpisode: exp.market.roundsPerEpisode,
        totalRounds: exp.market.totalRounds,
        quantityMax: exp.market.quantityMax,
        demand: exp.market.demand,
        shockRho: exp.market.dynamics.shock?.rho ?? 0,
        shockSigma: exp.market.dynamics.shock?.sigma ?? 0,
        adjustmentCost: exp.market.dynamics.adjustmentCost ?? 0,
        seed: exp.seed,
        firms: exp.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost })),
        observationColumns: [...OBSERVATION_COLUMNS],
      };
      h.runs.push(run);
      h.policies.push(await make(run, firm, exp));
    }
    return h;
  }

  policy(id: string): Policy {
    const k = this.exp.firms.findIndex((f) => f.id === id);
    if (k < 0) throw new Error(`no firm ${id}`);
    return this.policies[k] as Policy;
  }

  /** Plays `n` rounds (default: the rest of the run); returns the last round's record. */
  async play(n = this.exp.market.totalRounds - this.round, onRound?: (r: RoundRecord) => void): Promise<RoundRecord | undefined> {
    let last: RoundRecord | undefined;
    for (let k = 0; k < n; k++) {
      last = await this.step();
      onRound?.(last);
    }
    return last;
  }

  /** One round: phase announcement if it changed, tiers in order, clearing, outcomes. */
  async step(): Promise<RoundRecord> {
    const { B, F, exp } = this;
    const T = exp.market.roundsPerEpisode;
    const r = this.round;
    const p = phaseAt(this.phases, r);
    if (p !== this.phase) {
      this.phase = p;
      exp.firms.forEach((f, k) =>
        this.policies[k]?.onPhase?.({
          name: p.name,
          round: r,
          training: p.training.includes(f.id),
          exploring: p.exploring.includes(f.id),
        }),
      );
    }
    const step = r % T;
    if (step === 0) {
      resetState(this.model, this.state);
      this.lastPrice.fill(0);
      this.lastTotal.fill(0);
    }
    const C = OBSERVATION_COLUMNS.length;
    const obs = new Float64Array(B * C);
    for (let i = 0; i < B; i++) {
      obs[i * C] = this.state.shift[i] as number;
      obs[i * C + 1] = this.lastPrice[i] as number;
      obs[i * C + 2] = this.lastTotal[i] as number;
      obs[i * C + 3] = step / T;
    }
    const q = new Float64Array(F * B);
    const tiers = exp.tiers;
    const committedTotal = new Float64Array(B);
    const committed = new Map<string, Float64Array>();
    for (let t = 0; t < tiers; t++) {
      const members = exp.firms.map((f, k) => [f, k] as const).filter(([f]) => f.tier === t);
      const acts = await Promise.all(
        members.map(([f, k]) => {
          const mc = new Float64Array(B);
          for (let i = 0; i < B; i++) mc[i] = marginalCost(f.cost, 0, this.state.cumulative[k * B + i] as number);
          const ctx: ActContext = {
            round: r,
            episode: Math.floor(r / T),
            step,
            episodeEnd: step === T - 1,
            phase: p.name,
            observation: obs,
            committedTotal: committedTotal.slice(),
            committed: new Map(committed),
            ownLastQuantity: this.state.lastQuantity.slice(k * B, (k + 1) * B),
            ownMarginalCost: mc,
          };
          return (this.policies[k] as Policy).act(ctx);
        }),
      );
      members.forEach(([f, k], j) => {
        const a = acts[j] as Float64Array;
        if (a.length !== B) throw new Error(`${f.id} returned ${a.length} quantities, expected ${B}`);
        for (let i = 0; i < B; i++) {
          const v = a[i] as number;
          if (!Number.isFinite(v) || v < 0 || v > exp.market.quantityMax)
            throw new Error(`${f.id} returned an invalid quantity ${v}`);
          q[k * B + i] = v;
        }
      });
      for (const [f, k] of members) {
        const mine = q.slice(k * B, (k + 1) * B);
        committed.set(f.id, mine);
        for (let i = 0; i < B; i++) committedTotal[i] = (committedTotal[i] as number) + (mine[i] as number);
      }
    }
    const res = clear(this.model, this.state, q);
    advanceState(this.model, this.state, q, this.shockRng);
    this.lastPrice.set(res.prices);
    this.lastTotal.set(res.totalQuantity);
    for (const [k] of exp.firms.entries()) {
      await this.policies[k]?.observe?.({
        round: r,
        episode: Math.floor(r / T),
        step,
        episodeEnd: step === T - 1,
        prices: res.prices.slice(),
        quantity: q.slice(k * B, (k + 1) * B),
        profit: res.profits.slice(k * B, (k + 1) * B),
        absent: false,
        allQuantities: q.slice(),
      });
    }
    // CTDE learners then get the round's training information, as the market publishes it (never
    // in an evaluation run).
    const info: TrainingView = {
      round: r,
      episode: Math.floor(r / T),
      step,
      episodeEnd: step === T - 1,
      firmIds: exp.firms.map((f) => f.id),
      observation: obs,
      nextObservation: obs,
      quantities: q.slice(),
      profits: res.profits.slice(),
      marginalCosts: res.marginalCosts.slice(),
      prices: res.prices.slice(),
    };
    for (const [k, f] of exp.firms.entries())
      if (receivesTrainingInfo(f.policy.kind, exp.training.schedule)) await this.policies[k]?.observeTraining?.(info);
    this.round++;
    return { round: r, phase: p.name, quantities: q, profits: res.profits.slice(), prices: res.prices.slice() };
  }

  async close(): Promise<void> {
    for (const p of this.policies) await p.close?.();
  }
}

/** Mean of firm k's quantities in a round record. */
export function meanOf(rec: RoundRecord, k: number, B: number): number {
  let s = 0;
  for (let i = 0; i < B; i++) s += rec.quantities[k * B + i] as number;
  return s / B;
}

/** Mean of firm k's profits in a round record. */
export function meanProfit(rec: RoundRecord, k: number, B: number): number {
  let s = 0;
  for (let i = 0; i < B; i++) s += rec.profits[k * B + i] as number;
  return s / B;
}

/** A one-firm run view (firm "me") for a learner driven by hand. */
export function run(batch: number, tier = 0): RunView {
  return {
    runId: "t",
    firmId: "me",
    firmIndex: 0,
    tier,
    batch,
    roundsPerEpisode: 1,
    totalRounds: 100,
    quantityMax: 100,
    demand: { kind: "linear", a: 100, b: 1 },
    shockRho: 0,
    shockSigma: 0,
    adjustmentCost: 0,
    seed: 9,
    firms: [{ id: "me", tier, cost: { kind: "linear", c: 10 } }],
    observationColumns: [...OBSERVATION_COLUMNS],
  };
}

export function ctx(B: number, committed = 0): ActContext {
  return {
    round: 0,
    episode: 0,
    step: 0,
    episodeEnd: true,
    phase: "",
    observation: new Float64Array(B * OBSERVATION_COLUMNS.length),
    committedTotal: new Float64Array(B).fill(committed),
    committed: new Map(),
    ownLastQuantity: new Float64Array(B),
    ownMarginalCost: new Float64Array(B).fill(10),
  };
}

/** An inline trainer that keeps every batch it is asked to train on. */
export class Capturing implements TrainerHost {
  readonly mode = "inline";
  readonly batches: ExperienceBatch[] = [];
  private readonly inner = new InlineHost();
  async request<R extends WorkerRequest>(req: R): Promise<ResponseFor[R["type"]]> {
    if (req.type === "train") {
      const b = (req as Extract<WorkerRequest, { type: "train" }>).batch;
      this.batches.push({ ...b, data: b.data.slice() });
    }
    return this.inner.request(req);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
