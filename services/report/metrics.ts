/**
 * Per-round metrics and the run summary, computed from outcomes (live, or rebuilt from the
 * JetStream record: both give the same file).
 */
import type { Outcome } from "../bus/index.js";
import type { Equilibria } from "./equilibria.js";

/** One line of metrics.jsonl. */
export interface RoundMetrics {
  round: number;
  episode: number;
  step: number;
  priceMean: number;
  firms: Record<string, { quantityMean: number; profitMean: number; absent: boolean; distance: number }>;
  /** Relative distance of the mean quantities to the equilibrium: max over firms of |q - q*| / q*. */
  distance: number;
}

export function mean(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] as number;
  return to > from ? s / (to - from) : Number.NaN;
}

/** Relative distance of q to q* (absolute when q* is 0). */
export function relDistance(q: number, qStar: number): number {
  return qStar === 0 ? Math.abs(q) : Math.abs(q - qStar) / Math.abs(qStar);
}

export function roundMetrics(o: Outcome, eq: Equilibria): RoundMetrics {
  const B = o.batch ?? 1;
  const q = o.quantities ?? [];
  const p = o.profits ?? [];
  const firms: RoundMetrics["firms"] = {};
  let distance = 0;
  (o.firmIds ?? []).forEach((id, f) => {
    const qm = mean(q, f * B, (f + 1) * B);
    const star = eq.stackelberg.firms.find((x) => x.id === id)?.quantity ?? Number.NaN;
    const d = relDistance(qm, star);
    distance = Math.max(distance, d);
    firms[id] = { quantityMean: qm, profitMean: mean(p, f * B, (f + 1) * B), absent: (o.absent ?? [])[f] ?? false, distance: d };
  });
  return { round: Number(o.round ?? 0), episode: o.episode ?? 0, step: o.step ?? 0, priceMean: mean(o.prices ?? []), firms, distance };
}

/** Final figures of a run next to the equilibrium. */
export interface Summary {
  experiment: string;
  runId: string;
  rounds: number;
  /** Rounds averaged for the final figures (the evaluation phase, or the last 10% of rounds). */
  finalWindow: number;
  final: {
    priceMean: number;
    firms: Record<
      string,
      {
        quantity: number;
        profit: number;
        equilibriumQuantity: number;
        equilibriumProfit: number;
        distance: number;
        /** Mean quantity at each step of the episode over the final window (how output moves within an episode). */
        quantityByStep: number[];
        /** Mean discounted sum of profits over an episode (the firm's valuation), final window. */
        episodeValue?: number;
      }
    >;
    equilibriumPrice: number;
    /** max over firms of the relative quantity distance */
    distance: number;
  };
  equilibria: Equilibria;
  absences: number;
  /** Each learner's last reported metrics (exploration scale, losses, training throughput). */
  learners?: Record<string, Record<string, number>>;
  wallSeconds: number;
  extra?: Record<string, unknown>;
}

/** Accumulates metrics and produces the summary. */
export class SummaryBuilder {
  private readonly rows: RoundMetrics[] = [];
  private absences = 0;

  constructor(
    private readonly eq: Equilibria,
    private readonly totalRounds: number,
  ) {}

  add(m: RoundMetrics): void {
    this.rows.push(m);
    for (const f of Object.values(m.firms)) if (f.absent) this.absences++;
  }

  get count(): number {
    return this.rows.length;
  }

  build(
    experiment: string,
    runId: string,
    wallSeconds: number,
    roundsPerEpisode = 1,
    discounts: Record<string, number> = {},
    evaluationRounds = 0,
  ): Summary {
    const T = roundsPerEpisode;
    // The evaluation phase when the schedule has one (every policy greedy); otherwise the last 10%
    // of rounds, in whole episodes.
    const window =
      evaluationRounds > 0
        ? Math.min(this.rows.length, evaluationRounds)
        : Math.min(this.rows.length, Math.max(T, Math.ceil(this.totalRounds / 10 / T) * T));
    const last = this.rows.slice(-window);
    const firms: Summary["final"]["firms"] = {};
    let distance = 0;
    for (const e of this.eq.stackelberg.firms) {
      const q = mean(last.map((r) => r.firms[e.id]?.quantityMean ?? Number.NaN));
      const pr = mean(last.map((r) => r.firms[e.id]?.profitMean ?? Number.NaN));
      const d = relDistance(q, e.quantity);
      distance = Math.max(distance, d);
      const byStep = Array.from({ length: T }, (_, step) => mean(last.filter((r) => r.step === step).map((r) => r.firms[e.id]?.quantityMean ?? Number.NaN)));
      const gamma = discounts[e.id] ?? 0;
      const profitByStep = Array.from({ length: T }, (_, step) => mean(last.filter((r) => r.step === step).map((r) => r.firms[e.id]?.profitMean ?? Number.NaN)));
      const episodeValue = profitByStep.reduce((acc, p, k) => acc + gamma ** k * p, 0);
      firms[e.id] = {
        quantity: q,
        profit: pr,
        equilibriumQuantity: e.quantity,
        equilibriumProfit: e.profit,
        distance: d,
        quantityByStep: byStep,
        ...(T > 1 ? { episodeValue } : {}),
      };
    }
    return {
      experiment,
      runId,
      rounds: this.rows.length,
      finalWindow: last.length,
      final: { priceMean: mean(last.map((r) => r.priceMean)), firms, equilibriumPrice: this.eq.stackelberg.price, distance },
      equilibria: this.eq,
      absences: this.absences,
      wallSeconds,
    };
  }
}
