export { type Experiment, loadExperiment, parseExperiment, type ResolvedFirm } from "./load.js";
export { experimentSchema, type PolicyConfig, POLICY_KINDS } from "./schema.js";
