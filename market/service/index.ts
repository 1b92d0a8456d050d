export { type ClearedRound, MarketService, type MarketServiceOptions } from "./market.js";
export { observationColumns, runParams } from "./params.js";
export { type ClaimedRole, type Decision, RoundMachine, type RoundMachineConfig } from "./round-machine.js";
export { type Phase, phaseAt, phasesOf } from "../../services/config/phases.js";
