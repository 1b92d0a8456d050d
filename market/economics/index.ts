/**
 * market/economics: pure, vectorized market economics (no I/O, no global randomness).
 * The public surface other folders import; tests may reach the modules directly.
 */

export { allocClearResult, clear } from "./clearing.js";
export { learningMarginalCost, marginalCost, marginalCostLine, totalCost, validateCost } from "./costs.js";
export {
  consumerSurplus,
  demandLevel,
  inverseToQuantity,
  price,
  priceBatch,
  priceDerivative,
  shiftDemand,
  validateDemand,
} from "./demand.js";
export {
  type DynamicSolveOptions,
  type EpisodeFirm,
  type EpisodeProblem,
  expectedStagePath,
  hasEndogenousState,
  type ReferenceFirm,
  type ReferenceKind,
  type ReferencePath,
  referenceKind,
  solveOpenLoopPath,
  solveReferencePath,
  stagePath,
  validateEpisodeProblem,
} from "./dynamic.js";
export { advanceState, createState, resetState } from "./dynamics.js";
export {
  type BestReplyOptions,
  bestReply,
  type EqFirm,
  type EqFirmResult,
  type EquilibriumResult,
  linearCollusive,
  linearCournot,
  linearStackelberg,
  type SolveOptions,
  solveCollusive,
  solveEquilibrium,
  solveSubgame,
  validateFirms,
} from "./equilibrium.js";
export { EconomicsConfigError, EquilibriumError } from "./errors.js";
export { firmCount, validateModel } from "./model.js";
export { type SubgameArgs, subgameBatch } from "./oracle.js";
export { deriveSeed, Rng, type RngState } from "./rng.js";
export type { ClearResult, CostSpec, DemandSpec, DynamicsSpec, MarketModel, MarketState } from "./types.js";
