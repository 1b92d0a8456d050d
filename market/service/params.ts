/** Builds the run's public parameters (RunParams) from the experiment: what a firm learns on registration. */
import { costMsg, defaultActionMsg, demandMsg, ObservationColumn, type RunParams, roleMsg } from "../../services/bus/index.js";
import type { Experiment } from "../../services/config/index.js";

/**
 * The observation columns of a run: only those that can vary. Without demand shocks the shift is
 * always 0; with one-round episodes the state resets every round, so the last price, last total and
 * step are constant. Leaving constant columns out keeps large batches cheap on the wire.
 */
export function observationColumns(exp: Experiment): ObservationColumn[] {
  const cols: ObservationColumn[] = [];
  const shock = exp.market.dynamics.shock;
  if (shock && shock.sigma > 0) cols.push(ObservationColumn.DEMAND_SHIFT);
  if (exp.market.roundsPerEpisode > 1) cols.push(ObservationColumn.LAST_PRICE, ObservationColumn.LAST_TOTAL_QUANTITY, ObservationColumn.STEP_FRACTION);
  return cols;
}


export function runParams(exp: Experiment, runId: string): RunParams {
  const m = exp.market;
  return {
    runId,
    batch: m.batch,
    roundsPerEpisode: m.roundsPerEpisode,
    totalRounds: m.totalRounds,
    tiers: exp.tiers,
    quantityMax: m.quantityMax,
    deadlineMs: m.deadlineMs,
    demand: demandMsg(m.demand),
    shockRho: m.dynamics.shock?.rho ?? 0,
    shockSigma: m.dynamics.shock?.sigma ?? 0,
    adjustmentCost: m.dynamics.adjustmentCost ?? 0,
    defaultAction: defaultActionMsg(m.defaultAction),
    maxMisses: m.maxMisses,
    firms: exp.firms.map((f) => ({
      firmId: f.id,
      role: roleMsg(f.role),
      tier: f.tier,
      cost: costMsg(f.cost),
    })),
    seed: exp.seed,
    observationColumns: observationColumns(exp),
  };
}
