/**
 * The policy interface every firm runs: acts on a whole batch of B market instances at once and
 * observes outcomes. Fixed, oracle and learning policies all implement it.
 */
import type { CostSpec, DemandSpec } from "../market/economics/index.js";
import type { ObservationColumn } from "../services/bus/index.js";

/** What a policy knows about the run (from the market's RegisterReply). */
export interface RunView {
  runId: string;
  firmId: string;
  firmIndex: number;
  tier: number;
  batch: number;
  roundsPerEpisode: number;
  totalRounds: number;
  quantityMax: number;
  demand: DemandSpec;
  shockRho: number;
  shockSigma: number;
  adjustmentCost: number;
  seed: number;
  /** Every firm of the run, sorted by id. */
  firms: { id: string; tier: number; cost: CostSpec }[];
  /** The columns of each observation row (RunParams.observation_columns; may hold values of a newer contract). */
  observationColumns: ObservationColumn[];
}

/** One move request, seen by one firm. */
export interface ActContext {
  round: number;
  episode: number;
  step: number;
  episodeEnd: boolean;
  phase: string;
  /** Row-major B x observationColumns.length. */
  observation: Float64Array;
  /** Earlier tiers' total per instance (zeros for leaders). */
  committedTotal: Float64Array;
  /** Earlier tiers' quantities by firm id (length B each). */
  committed: Map<string, Float64Array>;
  ownLastQuantity: Float64Array;
  ownMarginalCost: Float64Array;
}

/** A cleared round, seen by one firm. */
export interface OutcomeView {
  round: number;
  episode: number;
  step: number;
  episodeEnd: boolean;
  prices: Float64Array;
  /** This firm's quantities and profits (length B). */
  quantity: Float64Array;
  profit: Float64Array;
  absent: boolean;
  /** Every firm's quantities, firm-major (public information). */
  allQuantities: Float64Array;
}

/**
 * The market's training-only message of a cleared round (CTDE learners only): the joint
 * information of every instance, which a centralized critic may learn from and an actor never sees.
 * Checked against the run before a policy sees it (lengths, finite values, the run's firms in order).
 */
export interface TrainingView {
  round: number;
  episode: number;
  step: number;
  episodeEnd: boolean;
  /** The run's firms in wire order (sorted by id), as in RunView.firms. */
  firmIds: string[];
  /**
   * Row-major B x observationColumns.length: the state before the round and the one the next round
   * starts from (after an episode's last round: the next episode's initial state).
   */
  observation: ArrayLike<number>;
  nextObservation: ArrayLike<number>;
  /** Firm-major F x B. */
  quantities: ArrayLike<number>;
  profits: ArrayLike<number>;
  marginalCosts: ArrayLike<number>;
  /** Length B. */
  prices: ArrayLike<number>;
}

/** A training phase announcement. */
export interface PhaseView {
  name: string;
  round: number;
  training: boolean;
  exploring: boolean;
}

export interface Policy {
  readonly kind: string;
  /** Returns B quantities in [0, quantityMax]. */
  act(ctx: ActContext): Float64Array | Promise<Float64Array>;
  observe?(outcome: OutcomeView): void | Promise<void>;
  /** A CTDE learner's centralized training information; after observe() for the same round. */
  observeTraining?(info: TrainingView): void | Promise<void>;
  onPhase?(phase: PhaseView): void;
  /** Saves the policy's state under `dir` (checkpoints). */
  save?(dir: string): Promise<void>;
  /** Loads state saved by save(); false when nothing was there. */
  load?(dir: string): Promise<boolean>;
  /** Metrics for the per-round log (exploration scale, losses). */
  metrics?(): Record<string, number>;
  close?(): Promise<void>;
}
