/** Validation of a whole market model, done once at construction so that clearing need not check. */

import { validateCost } from "./costs.js";
import { validateDemand } from "./demand.js";
import { EconomicsConfigError, messages, requireFinite, requireNonNegative } from "./errors.js";
import type { MarketModel } from "./types.js";

/**
 * Throws EconomicsConfigError naming the first bad field under `path`, e.g.
 * "market.batch must be a positive integer (got 0)" or "market.costs[1].c must be >= 0 (got -1)".
 */
export function validateModel(model: MarketModel, path = "market"): void {
  if (typeof model !== "object" || model === null) throw new EconomicsConfigError(messages.notObject(path));
  if (!Number.isSafeInteger(model.batch) || model.batch <= 0) {
    throw new EconomicsConfigError(messages.notPositiveInteger(`${path}.batch`, model.batch));
  }
  validateDemand(model.demand, `${path}.demand`);
  if (!Array.isArray(model.costs) || model.costs.length === 0) {
    throw new EconomicsConfigError(`${path}.costs must be a non-empty array (one cost per firm)`);
  }
  model.costs.forEach((c, f) => validateCost(c, `${path}.costs[${f}]`));
  const dyn = model.dynamics;
  if (typeof dyn !== "object" || dyn === null) throw new EconomicsConfigError(messages.notObject(`${path}.dynamics`));
  if (dyn.shock !== undefined) {
    const rho = requireFinite(`${path}.dynamics.shock.rho`, dyn.shock.rho);
    // |rho| = 1 (a random walk within the episode) is allowed: episodes are finite.
    if (rho < -1 || rho > 1) throw new EconomicsConfigError(messages.outOfRange(`${path}.dynamics.shock.rho`, rho, "[-1, 1]"));
    requireNonNegative(`${path}.dynamics.shock.sigma`, dyn.shock.sigma);
  }
  if (dyn.adjustmentCost !== undefined) requireNonNegative(`${path}.dynamics.adjustmentCost`, dyn.adjustmentCost);
}

/** Number of firms F in the model. */
export function firmCount(model: MarketModel): number {
  return model.costs.length;
}
