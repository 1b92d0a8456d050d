/**
 * Per-round metrics and the run summary, computed from each round's RoundStats (followed live on
 * the stats subject, or recomputed from the recorded outcomes: both give the same file).
 */
import { batchMean, type RoundStats } from "../bus/index.js";
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

/** Mean of a[from..to) (the codec's batchMean: one summation order everywhere). */
export const mean = batchMean;

/** Relative distance of q to q* (absolute when q* is 0). */
export function relDistance(q: number, qStar: number): number {
  return qStar === 0 ? Math.abs(q) : Math.abs(q - qStar) / Math.abs(qStar);
}

/**
 * The metrics line of one round, from its RoundStats (as the market published them, or as
 * `statsOf` recomputes them from a recorded Outcome: the same doubles).
 */
export function roundMetrics(st: RoundStats, eq: Equilibria): RoundMetrics {
  const firms: RoundMetrics["firms"] = {};
  let distance = 0;
  (st.firmIds ?? []).forEach((id, f) => {
    const qm = st.quantityMeans?.[f] ?? Number.NaN;
    const star = eq.stackelberg.firms.find((x) => x.id === id)?.quantity ?? Number.NaN;
    const d = relDistance(qm, star);
    distance = Math.max(distance, d);
    firms[id] = {
      quantityMean: qm,
      profitMean: st.profitMeans?.[f] ?? Number.NaN,
      absent: (st.absent ?? [])[f] ?? false,
      distance: d,
    };
  });
  return {
    round: Number(st.round ?? 0),
    episode: st.episode ?? 0,
    step: st.step ?? 0,
    priceMean: st.priceMean ?? Number.NaN,
    firms,
    distance,
  };
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
      const byStep = Array.from({ length: T }, (_, step) =>
        mean(last.filter((r) => r.step === step).map((r) => r.firms[e.id]?.quantityMean ?? Number.NaN)),
      );
      const gamma = discounts[e.id] ?? 0;
      const profitByStep = Array.from({ length: T }, (_, step) =>
        mean(last.filter((r) => r.step === step).map((r) => r.firms[e.id]?.profitMean ?? Number.NaN)),
      );
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
