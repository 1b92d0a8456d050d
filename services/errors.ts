/**
 * The project's named errors. Everything a user can see derives from StackelbergError; the CLI
 * catches that one class and prints its message on one line (no stack). A raw Error or TypeError
 * is a programmer mistake and keeps its stack. Message text for protocol rejects lives in
 * services/bus/protocol.ts; these are for process-level failures.
 */

/** Base of every error meant for a user: printed as one line, exit code `exitCode`. */
export class StackelbergError extends Error {
  /** Process exit code when this error ends a command. */
  readonly exitCode: number = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StackelbergError";
  }
}

/** A bad experiment file or bad command-line option; printed without a stack trace. */
export class ConfigError extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** A protocol violation seen by a firm or the market (bad message, wrong order, refused registration). */
export class ProtocolError extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/** The run's JetStream record is not what the market published (a lost or foreign message). */
export class RecordBroken extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RecordBroken";
  }
}

/** The NATS server refused this component's credentials or a permission it needs. */
export class AuthError extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** A child process or external dependency (nats-server) failed. */
export class RuntimeFailure extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeFailure";
  }
}

/** The user interrupted the run (Ctrl-C / SIGTERM); the process exits with 130. */
export class Interrupted extends RuntimeFailure {
  override readonly exitCode: number = 130;
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
  }
}
