export type { Bus, BusMessage, BusSubscription, RecordAck, RecordOptions } from "./bus.js";
export * from "./codec.js";
export { MemoryBus } from "./memory.js";
export { NatsBus, type NatsBusOptions } from "./nats.js";
export { detail, MESSAGE_RULES, PROTOCOL_VERSION, RejectCode, type RejectCodeName, rejectName } from "./protocol.js";
export { isSubjectToken, type RunSubjects, runSubjects } from "./subjects.js";
