export { FirmRuntime, type FirmRuntimeOptions, RegistrationRefused } from "./host/firm-runtime.js";
export type { ActContext, OutcomeView, PhaseView, Policy, RunView } from "./policy.js";
export { BestResponsePolicy, FixedPolicy, makePolicyFactory, type PolicyEnv } from "./policies/index.js";
