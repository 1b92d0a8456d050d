export type { Bus, BusMessage, BusSubscription, RecordAck, RecordOptions } from "./bus.js";
export * from "./codec.js";
export {
  columnIndex,
  columnName,
  costFromMsg,
  costMsg,
  type DefaultActionName,
  defaultActionMsg,
  demandFromMsg,
  demandMsg,
  OBSERVATION_COLUMNS,
  ObservationColumn,
  observationColumn,
  type RoleName,
  roleFromMsg,
  roleMsg,
} from "./contract.js";
export { MemoryBus } from "./memory.js";
export { NatsBus, type NatsBusOptions } from "./nats.js";
export {
  answerable,
  CAPABILITIES,
  clip,
  clipList,
  detail,
  MESSAGE_RULES,
  type MessageRule,
  PROTOCOL_VERSION,
  RejectCode,
  type RejectCodeName,
  rejectName,
  roleOfTier,
  WIRE_LIMITS,
} from "./protocol.js";
export { type Identity, isSubjectToken, type RunSubjects, runSubjects, type SubjectKind } from "./subjects.js";
export { accountOf, allowed, type Permissions, permissionsOf, recordImports, subjectMatches } from "./permissions.js";
