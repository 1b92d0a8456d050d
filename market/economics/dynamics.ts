/**
 * The market's dynamic state across rounds: AR(1) demand shocks, cumulative output
 * (learning-by-doing) and last quantities (adjustment costs). Episodes reset it.
 */

import { EconomicsConfigError, messages } from "./errors.js";
import { validateModel } from "./model.js";
import type { Rng } from "./rng.js";
import type { MarketModel, MarketState } from "./types.js";

/** A fresh episode-start state (all zeros, firstRound true). Validates the model. */
export function createState(model: MarketModel): MarketState {
  validateModel(model);
  const B = model.batch;
  const FB = model.costs.length * B;
  return {
    shift: new Float64Array(B),
    cumulative: new Float64Array(FB),
    lastQuantity: new Float64Array(FB),
    firstRound: true,
  };
}

/** Resets `state` in place to an episode start (every instance: episodes are aligned across the batch). */
export function resetState(model: MarketModel, state: MarketState): void {
  checkShapes(model, state);
  state.shift.fill(0);
  state.cumulative.fill(0);
  state.lastQuantity.fill(0);
  state.firstRound = true;
}

/**
 * Moves the state past a cleared round: the shock steps its AR(1) (one `rng.normal()` per
 * instance, in instance order, whenever a shock is configured, even with sigma = 0, so that the
 * stream's position does not depend on parameter values), cumulative output grows by the
 * quantities, and they become the last quantities.
 */
export function advanceState(model: MarketModel, state: MarketState, quantities: Float64Array, rng: Rng): void {
  checkShapes(model, state);
  const B = model.batch;
  const FB = model.costs.length * B;
  if (quantities.length !== FB) throw new EconomicsConfigError(messages.wrongLength("quantities", FB, quantities.length));
  const shock = model.dynamics.shock;
  if (shock !== undefined) {
    const { rho, sigma } = shock;
    const shift = state.shift;
    for (let i = 0; i < B; i++) shift[i] = rho * shift[i]! + sigma * rng.normal();
  }
  const cum = state.cumulative;
  const last = state.lastQuantity;
  for (let k = 0; k < FB; k++) {
    const q = quantities[k]!;
    cum[k] = cum[k]! + q;
    last[k] = q;
  }
  state.firstRound = false;
}

/** Throws unless the state's arrays fit the model (cheap; guards against mixing models and states). */
export function checkShapes(model: MarketModel, state: MarketState): void {
  const B = model.batch;
  const FB = model.costs.length * B;
  if (state.shift.length !== B) throw new EconomicsConfigError(messages.wrongLength("state.shift", B, state.shift.length));
  if (state.cumulative.length !== FB) {
    throw new EconomicsConfigError(messages.wrongLength("state.cumulative", FB, state.cumulative.length));
  }
  if (state.lastQuantity.length !== FB) {
    throw new EconomicsConfigError(messages.wrongLength("state.lastQuantity", FB, state.lastQuantity.length));
  }
}
