export { type Experiment, loadExperiment, parseExperiment, type ResolvedFirm } from "./load.js";
export { type Phase, phaseAt, phasesOf } from "./phases.js";
export {
  CTDE_POLICY_KINDS,
  evaluationRoundsOf,
  experimentSchema,
  isCtdeLearner,
  type PolicyConfig,
  POLICY_KINDS,
  receivesTrainingInfo,
} from "./schema.js";
