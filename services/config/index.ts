export { type Experiment, loadExperiment, parseExperiment, type ResolvedFirm } from "./load.js";
export { CTDE_POLICY_KINDS, experimentSchema, isCtdeLearner, type PolicyConfig, POLICY_KINDS } from "./schema.js";
