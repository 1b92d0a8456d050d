/** The protocol conformance check of an outside agent (`stackelberg conformance`). */
export { AgentProcess, type AgentValues, agentEnv, fillPlaceholders, PLACEHOLDERS } from "./agent.js";
export { Kit, type MoveDraft, type RoundPlan, type RoundResult } from "./kit.js";
export { checkRefusal, REFUSAL_CHECK, type RefusalOptions } from "./refusal.js";
export { Check, type CheckResult, type CheckStatus, type ConformanceReport, formatReport } from "./report.js";
export {
  CONFORMANCE_MARKET,
  checkOptions,
  type ConformanceOptions,
  conformanceExperiment,
  runConformance,
  simulatedFirms,
} from "./run.js";
export { SCENARIO, type Step, type StepContext, scenarioRounds, TIMINGS } from "./scenario.js";
