export { type ClearedRound, MarketService, type MarketServiceOptions } from "./market.js";
export { costFromMsg, demandFromMsg, OBSERVATION_NAMES, observationNames, runParams } from "./params.js";
export { type ClaimedRole, type Decision, RoundMachine, type RoundMachineConfig } from "./round-machine.js";
export { type Phase, phaseAt, phasesOf } from "./schedule.js";
