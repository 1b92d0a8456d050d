/**
 * The framework as a library (package entry "."): what a TypeScript user's own agent or tool
 * imports. Subpath entries give each area whole: "stackelberg-market/bus" (codec, subjects,
 * protocol rules, NATS bus), "/economics" (clearing, equilibrium solvers), "/config" (experiment
 * loader), "/firm" (firm runtime and policies), "/auth" (identities and credentials).
 */
export { FirmRuntime, type FirmRuntimeOptions, type Policy, RegistrationRefused } from "../agents/index.js";
export * as bus from "./bus/index.js";
export * as economics from "../market/economics/index.js";
export { type Experiment, loadExperiment, parseExperiment } from "./config/index.js";
export { AuthError, ConfigError, ProtocolError, RecordBroken, RuntimeFailure, StackelbergError } from "./errors.js";
