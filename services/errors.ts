/**
 * The project's named errors. Message text for protocol rejects lives in
 * services/bus/protocol.ts; these are for process-level failures.
 */

/** A bad experiment file or bad command-line option; printed without a stack trace. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** A protocol violation seen by a firm or the market (bad message, wrong order). */
export class ProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/** A child process or external dependency (nats-server) failed. */
export class RuntimeFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeFailure";
  }
}

/** The user interrupted the run (Ctrl-C / SIGTERM); the process exits with 130. */
export class Interrupted extends RuntimeFailure {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
  }
}
