/**
 * Batched subgame solutions for best-response oracle firms: for every market instance, the
 * equilibrium quantity of one firm in the subgame that starts at its tier, given what earlier
 * tiers committed in that instance.
 */

import { cournotCore, stackelbergCore } from "./closed-form.js";
import { marginalCostLine } from "./costs.js";
import { validateDemand } from "./demand.js";
import { EconomicsConfigError, messages } from "./errors.js";
import { type EqFirm, type PreparedGame, prepareGame, solvePreparedSubgame, validateFirms } from "./equilibrium.js";
import type { DemandSpec } from "./types.js";

/** The game an oracle plays: demand, all firms (any order), optional per-instance cumulative output. */
export interface SubgameArgs {
  demand: DemandSpec;
  firms: readonly EqFirm[];
  /**
   * Per-instance cumulative output K, firm-major (`cumulative[f * B + i]`, f indexing `firms`),
   * overriding `firms[f].cumulative`; only learning-by-doing costs use it.
   */
  cumulative?: Float64Array;
  /** Relative tolerance of the numeric solver (see SolveOptions.tol). */
  tol?: number;
}

/**
 * For each instance i, the equilibrium quantity of `firms[firmIndex]` in the subgame of tiers
 * >= fromTier when earlier tiers committed `committed[i]` in total and the demand shock is
 * `shifts[i]`. Linear demand with constant marginal costs and at most two remaining tiers uses
 * the closed form (fast); everything else runs the numeric solver per instance.
 *
 * @param out optional output (length B), returned.
 */
export function subgameBatch(
  args: SubgameArgs,
  committed: Float64Array,
  shifts: Float64Array | undefined,
  fromTier: number,
  firmIndex: number,
  out?: Float64Array,
): Float64Array {
  const { demand, firms, cumulative } = args;
  validateDemand(demand);
  validateFirms(firms);
  const B = committed.length;
  const F = firms.length;
  if (shifts !== undefined && shifts.length !== B)
    throw new EconomicsConfigError(messages.wrongLength("shifts", B, shifts.length));
  if (cumulative !== undefined && cumulative.length !== F * B) {
    throw new EconomicsConfigError(messages.wrongLength("cumulative", F * B, cumulative.length));
  }
  if (!Number.isInteger(firmIndex) || firmIndex < 0 || firmIndex >= F) {
    throw new EconomicsConfigError(messages.outOfRange("firmIndex", firmIndex, `0..${F - 1}`));
  }
  if (firms[firmIndex]!.tier < fromTier) {
    throw new EconomicsConfigError(`firmIndex ${firmIndex} is in tier ${firms[firmIndex]!.tier}, before fromTier ${fromTier}`);
  }
  for (let i = 0; i < B; i++) {
    const c = committed[i]!;
    if (!(Number.isFinite(c) && c >= 0)) throw new EconomicsConfigError(messages.negative(`committed[${i}]`, c));
  }
  const result = out ?? new Float64Array(B);
  if (result.length !== B) throw new EconomicsConfigError(messages.wrongLength("out", B, result.length));

  const playing = firms.map((f, i) => ({ f, i })).filter(({ f }) => f.tier >= fromTier);
  const tiers = [...new Set(playing.map(({ f }) => f.tier))].sort((x, y) => x - y);
  const constantMc = playing.every(({ f }) => marginalCostLine(f.cost).d === 0);
  const kOf = (f: number, i: number) => (cumulative !== undefined ? cumulative[f * B + i]! : (firms[f]!.cumulative ?? 0));

  if (demand.kind === "linear" && constantMc && tiers.length <= 2) {
    const lead = playing.filter(({ f }) => f.tier === tiers[0]).map(({ i }) => i);
    const follow = playing.filter(({ f }) => f.tier === tiers[1]).map(({ i }) => i);
    const cL = new Float64Array(lead.length);
    const cF = new Float64Array(follow.length);
    const qL = new Float64Array(lead.length);
    const qF = new Float64Array(follow.length);
    const inLead = lead.indexOf(firmIndex);
    const inFollow = follow.indexOf(firmIndex);
    // Marginal costs vary by instance only through per-instance cumulative output.
    const varying = cumulative !== undefined && playing.some(({ f }) => f.cost.kind === "learning-by-doing");
    const fillCosts = (i: number) => {
      for (let k = 0; k < lead.length; k++) cL[k] = marginalCostLine(firms[lead[k]!]!.cost, kOf(lead[k]!, i)).c;
      for (let k = 0; k < follow.length; k++) cF[k] = marginalCostLine(firms[follow[k]!]!.cost, kOf(follow[k]!, i)).c;
    };
    if (!varying) fillCosts(0);
    for (let i = 0; i < B; i++) {
      if (varying) fillCosts(i);
      // Earlier commitments shift the residual demand's intercept down.
      const a = demand.a + (shifts === undefined ? 0 : shifts[i]!) - demand.b * committed[i]!;
      if (follow.length === 0) cournotCore(a, demand.b, cL, qL);
      else stackelbergCore(a, demand.b, cL, cF, qL, qF);
      result[i] = inLead >= 0 ? qL[inLead]! : qF[inFollow]!;
    }
    return result;
  }

  const q = new Float64Array(F);
  const perInstance = cumulative !== undefined && firms.some((f) => f.cost.kind === "learning-by-doing");
  let shared: PreparedGame | undefined;
  for (let i = 0; i < B; i++) {
    const shift = shifts === undefined ? 0 : shifts[i]!;
    let game: PreparedGame;
    if (perInstance || shift !== 0 || shared === undefined) {
      const fi = perInstance ? firms.map((f, k) => ({ ...f, cumulative: kOf(k, i) })) : firms;
      const opts = args.tol === undefined ? { shift } : { shift, tol: args.tol };
      game = prepareGame(demand, fi, opts, fromTier, true);
      if (!perInstance && shift === 0) shared = game;
    } else {
      game = shared;
    }
    solvePreparedSubgame(game, committed[i]!, q);
    result[i] = q[firmIndex]!;
  }
  return result;
}
