/**
 * Per-round metrics and the run summary, computed from each round's RoundStats (followed live on
 * the stats subject, or recomputed from the recorded outcomes: both give the same file).
 */
import type { ReferenceKind, ReferencePath } from "../../market/economics/index.js";
import { batchMean, type RoundStats } from "../bus/index.js";
import type { Equilibria } from "./equilibria.js";

/** One line of metrics.jsonl. */
export interface RoundMetrics {
  round: number;
  episode: number;
  step: number;
  priceMean: number;
  firms: Record<string, { quantityMean: number; profitMean: number; absent: boolean; distance: number }>;
  /**
   * Relative distance of the mean quantities to the reference at this round's step (the stage
   * equilibrium, or the dynamic reference path): max over firms of |q - q*| / q*.
   */
  distance: number;
}

/** Mean of a[from..to) (the codec's batchMean: one summation order everywhere). */
export const mean = batchMean;

/** Relative distance of q to q* (absolute when q* is 0). */
export function relDistance(q: number, qStar: number): number {
  return qStar === 0 ? Math.abs(q) : Math.abs(q - qStar) / Math.abs(qStar);
}

/**
 * Relative distance of a per-step path q to the reference path q*: sum_t |q_t - q*_t| / sum_t |q*_t|
 * over the steps where q is known (absolute, sum_t |q_t| / steps, where q* is all zeros). One step
 * gives relDistance.
 */
export function pathDistance(q: readonly number[], qStar: readonly number[]): number {
  let num = 0;
  let den = 0;
  let steps = 0;
  q.forEach((v, t) => {
    const w = qStar[t];
    if (!Number.isFinite(v) || w === undefined) return;
    num += Math.abs(v - w);
    den += Math.abs(w);
    steps++;
  });
  if (steps === 0) return Number.NaN;
  return den === 0 ? num / steps : num / den;
}

/** Whether the run is compared with a dynamic reference path rather than the stage equilibrium. */
export function isDynamic(reference: ReferencePath | undefined): reference is ReferencePath {
  return reference !== undefined && reference.kind !== "stage-equilibrium";
}

/** The reference quantity of firm `id` at step `step` of the episode. */
function referenceQuantity(reference: ReferencePath, id: string, step: number): number {
  const q = reference.firms.find((f) => f.id === id)?.quantity;
  if (q === undefined || q.length === 0) return Number.NaN;
  return q[Math.min(Math.max(step, 0), q.length - 1)]!;
}

/**
 * The metrics line of one round, from its RoundStats (as the market published them, or as
 * `statsOf` recomputes them from a recorded Outcome: the same doubles). Distances are to the
 * stage equilibrium, or, with a dynamic `reference`, to its quantity at the round's step.
 */
export function roundMetrics(st: RoundStats, eq: Equilibria, reference?: ReferencePath): RoundMetrics {
  const firms: RoundMetrics["firms"] = {};
  let distance = 0;
  const dynamic = isDynamic(reference);
  (st.firmIds ?? []).forEach((id, f) => {
    const qm = st.quantityMeans?.[f] ?? Number.NaN;
    const star = dynamic
      ? referenceQuantity(reference, id, st.step ?? 0)
      : (eq.stackelberg.firms.find((x) => x.id === id)?.quantity ?? Number.NaN);
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

/** The reference a run is compared with, as summary.json states it. */
export interface SummaryReference {
  /** `stage-equilibrium`, `expected-stage-path` or `open-loop-path` (docs/equilibria.md). */
  kind: ReferenceKind;
  /** One line saying what the reference is. */
  description: string;
  /** Reference price at each step of the episode. */
  priceByStep: number[];
  firms: Record<
    string,
    {
      quantityByStep: number[];
      profitByStep: number[];
      /** Discounted (valuation firms) or plain (profit firms) sum of the reference profits over an episode. */
      value: number;
    }
  >;
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
        /** The reference quantity: the stage equilibrium's, or with a dynamic reference its mean over the episode's steps. */
        equilibriumQuantity: number;
        /** The reference profit, likewise. */
        equilibriumProfit: number;
        /**
         * Relative distance to the reference: |q - q*| / q* of the mean quantity for the stage
         * equilibrium; with a dynamic reference, of the per-step means to the reference path,
         * sum_t |q_t - q*_t| / sum_t q*_t.
         */
        distance: number;
        /** Mean quantity at each step of the episode over the final window (how output moves within an episode). */
        quantityByStep: number[];
        /** The reference quantity at each step of the episode (what quantityByStep is compared with). */
        referenceQuantityByStep: number[];
        /** Mean discounted sum of profits over an episode (the firm's valuation), final window. */
        episodeValue?: number;
        /** The same sum along the reference path. */
        referenceValue?: number;
      }
    >;
    /** The reference price: the stage equilibrium's, or the dynamic reference's mean over the episode's steps. */
    equilibriumPrice: number;
    /** max over firms of the relative quantity distance */
    distance: number;
  };
  /** Which reference `equilibrium*` and `distance` refer to, with its path. */
  reference: SummaryReference;
  /** The one-shot stage game's equilibria (always reported, whatever the reference). */
  equilibria: Equilibria;
  absences: number;
  /** Each learner's last reported metrics (exploration scale, losses, training throughput). */
  learners?: Record<string, Record<string, number>>;
  wallSeconds: number;
  extra?: Record<string, unknown>;
}

/**
 * Rounds the summary's final figures average: the evaluation phase when the schedule has one
 * (every policy greedy); otherwise the last 10% of rounds, in whole episodes.
 */
export function finalWindowOf(totalRounds: number, roundsPerEpisode: number, evaluationRounds = 0): number {
  const T = roundsPerEpisode;
  return evaluationRounds > 0 ? evaluationRounds : Math.max(T, Math.ceil(totalRounds / 10 / T) * T);
}

/**
 * Running sums of a window of rows, in row order: each mean they give is the same double as
 * `mean` over the rows' values (one summation order), without keeping the rows.
 */
class WindowSums {
  n = 0;
  private price = 0;
  private readonly firms = new Map<string, { q: number; p: number; qStep: number[]; pStep: number[] }>();
  private readonly nStep: number[] = [];

  constructor(private readonly ids: readonly string[]) {
    for (const id of ids) this.firms.set(id, { q: 0, p: 0, qStep: [], pStep: [] });
  }

  static of(ids: readonly string[], rows: readonly RoundMetrics[]): WindowSums {
    const w = new WindowSums(ids);
    for (const r of rows) w.add(r);
    return w;
  }

  add(r: RoundMetrics): void {
    this.n++;
    this.price += r.priceMean;
    this.nStep[r.step] = (this.nStep[r.step] ?? 0) + 1;
    for (const id of this.ids) {
      const f = this.firms.get(id)!;
      const q = r.firms[id]?.quantityMean ?? Number.NaN;
      const p = r.firms[id]?.profitMean ?? Number.NaN;
      f.q += q;
      f.p += p;
      f.qStep[r.step] = (f.qStep[r.step] ?? 0) + q;
      f.pStep[r.step] = (f.pStep[r.step] ?? 0) + p;
    }
  }

  private static div(sum: number | undefined, n: number | undefined): number {
    return n ? (sum as number) / n : Number.NaN;
  }

  priceMean(): number {
    return WindowSums.div(this.price, this.n);
  }

  quantity(id: string): number {
    return WindowSums.div(this.firms.get(id)?.q, this.n);
  }

  profit(id: string): number {
    return WindowSums.div(this.firms.get(id)?.p, this.n);
  }

  quantityAt(id: string, step: number): number {
    return WindowSums.div(this.firms.get(id)?.qStep[step], this.nStep[step]);
  }

  profitAt(id: string, step: number): number {
    return WindowSums.div(this.firms.get(id)?.pStep[step], this.nStep[step]);
  }
}

/** Accumulates metrics and produces the summary. */
export class SummaryBuilder {
  private readonly rows: RoundMetrics[] = [];
  private added = 0;
  private absences = 0;
  /** With `finalWindow`: sums of the rows of the final window (no rows kept). */
  private readonly window: WindowSums | undefined;

  /**
   * @param reference the per-step reference (services/report/equilibria.ts `referenceFor`); without
   *   it, or when it is the stage equilibrium, the run is compared with `eq.stackelberg`.
   * @param finalWindow the final window build() will average (`finalWindowOf`), for a builder that
   *   will see all `totalRounds` rows: it then keeps running sums of those rows instead of every
   *   row, so memory does not grow with the run; default: every row is kept.
   */
  constructor(
    private readonly eq: Equilibria,
    private readonly totalRounds: number,
    private readonly reference?: ReferencePath,
    private readonly finalWindow?: number,
  ) {
    if (finalWindow !== undefined) this.window = new WindowSums(eq.stackelberg.firms.map((f) => f.id));
  }

  add(m: RoundMetrics): void {
    this.added++;
    for (const f of Object.values(m.firms)) if (f.absent) this.absences++;
    if (this.window === undefined) this.rows.push(m);
    else if (this.added > this.totalRounds - (this.finalWindow ?? 0)) this.window.add(m);
  }

  get count(): number {
    return this.added;
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
    const ids = this.eq.stackelberg.firms.map((f) => f.id);
    const last =
      this.window ?? WindowSums.of(ids, this.rows.slice(-Math.min(this.rows.length, finalWindowOf(this.totalRounds, T, evaluationRounds))));
    const ref = this.reference;
    const dynamic = isDynamic(ref);
    const firms: Summary["final"]["firms"] = {};
    const reference: SummaryReference = {
      kind: ref?.kind ?? "stage-equilibrium",
      description: ref?.description ?? "equilibrium of the one-shot stage game at the episode-start state",
      priceByStep: ref?.price ?? new Array<number>(T).fill(this.eq.stackelberg.price),
      firms: {},
    };
    let distance = 0;
    for (const e of this.eq.stackelberg.firms) {
      const q = last.quantity(e.id);
      const pr = last.profit(e.id);
      const byStep = Array.from({ length: T }, (_, step) => last.quantityAt(e.id, step));
      const gamma = discounts[e.id] ?? 0;
      const profitByStep = Array.from({ length: T }, (_, step) => last.profitAt(e.id, step));
      const episodeValue = profitByStep.reduce((acc, p, k) => acc + gamma ** k * p, 0);
      const rf = ref?.firms.find((f) => f.id === e.id);
      const refQ = rf?.quantity ?? new Array<number>(T).fill(e.quantity);
      const refProfit = rf?.profit ?? new Array<number>(T).fill(e.profit);
      const referenceValue = refProfit.reduce((acc, p, k) => acc + gamma ** k * p, 0);
      reference.firms[e.id] = { quantityByStep: refQ, profitByStep: refProfit, value: referenceValue };
      const star = dynamic ? mean(refQ) : e.quantity;
      const d = dynamic ? pathDistance(byStep, refQ) : relDistance(q, e.quantity);
      distance = Math.max(distance, d);
      firms[e.id] = {
        quantity: q,
        profit: pr,
        equilibriumQuantity: star,
        equilibriumProfit: dynamic ? mean(refProfit) : e.profit,
        distance: d,
        quantityByStep: byStep,
        referenceQuantityByStep: refQ,
        ...(T > 1 ? { episodeValue, referenceValue } : {}),
      };
    }
    return {
      experiment,
      runId,
      rounds: this.added,
      finalWindow: last.n,
      final: {
        priceMean: last.priceMean(),
        firms,
        equilibriumPrice: dynamic ? mean(reference.priceByStep) : this.eq.stackelberg.price,
        distance,
      },
      reference,
      equilibria: this.eq,
      absences: this.absences,
      wallSeconds,
    };
  }
}
