import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type Authenticator, connect, headers, type NatsConnection, type TlsOptions } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { AuthError, RuntimeFailure } from "../errors.js";
import { RateLimitedLog } from "../log.js";
import type { Bus, BusMessage, BusSubscription, RecordAck, RecordOptions } from "./bus.js";

/** Options of a NATS connection. */
export interface NatsBusOptions {
  /** Server URL(s), e.g. nats://127.0.0.1:4222 */
  servers: string | string[];
  /** Connection name shown by the server (process kind and firm id). */
  name: string;
  logger: Logger;
  /** Credentials (services/auth: authenticatorFrom); none means an unauthenticated connection. */
  authenticator?: Authenticator;
  /**
   * Prefix of this connection's request/reply inboxes. With auth on, each identity may only
   * subscribe below its own prefix (RunSubjects.inbox), never to `_INBOX.>`.
   */
  inboxPrefix?: string;
  /** TLS options (CA, client certificate and key files); required by tls:// URLs. */
  tls?: TlsOptions;
  /** How long the first connection may take before giving up (default 20 s, nats.js's own). */
  connectTimeoutMs?: number;
}

/**
 * The Bus over NATS (@nats-io/transport-node v3): reconnects forever, logs status changes, and
 * records through JetStream with idempotent message ids.
 */
export class NatsBus implements Bus {
  private js: JetStreamClient | undefined;
  /** Called when a message handler throws (after logging); processes use it to fail loudly. */
  onHandlerError: ((err: Error, subject: string) => void) | undefined;

  private readonly errors: RateLimitedLog;
  private readonly connectionListeners: Array<(state: "disconnected" | "reconnected") => void> = [];

  private constructor(
    readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    this.errors = new RateLimitedLog(log);
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: opts.servers,
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        // A server that vanishes without closing the socket (a host or network lost, not a process
        // killed) is noticed after two unanswered pings: about 40 s, not nats.js's default 4 min.
        pingInterval: 20_000,
        timeout: opts.connectTimeoutMs ?? 20_000,
        ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
        ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
        ...(opts.tls ? { tls: opts.tls } : {}),
      });
    } catch (err) {
      throw connectError(opts.servers, err as Error);
    }
    const bus = new NatsBus(nc, opts.logger.child({ component: "bus" }));
    bus.log.debug({ server: nc.getServer() }, "connected to NATS");
    void bus.watchStatus();
    return bus;
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.log.warn({ server: s.server }, "NATS disconnected");
          for (const fn of this.connectionListeners) fn("disconnected");
          break;
        case "reconnect":
          this.log.info({ server: s.server }, "NATS reconnected");
          for (const fn of this.connectionListeners) fn("reconnected");
          break;
        case "reconnecting":
          this.log.debug("NATS reconnecting");
          break;
        case "error":
          // Permission violations land here: this identity tried something the run does not allow
          // it (e.g. answering a reply subject outside the firms' inboxes). Bounded: a client can
          // provoke them.
          this.errors.warn(s.error.name, { error: s.error.message.slice(0, 300) }, "NATS server refused an operation");
          break;
        case "slowConsumer":
          this.log.warn({ pending: s.pending }, "NATS slow consumer");
          break;
        case "ldm":
          this.log.warn({ server: s.server }, "NATS server entering lame-duck mode");
          break;
        default:
          break;
      }
    }
  }

  publish(subject: string, data: Uint8Array): void {
    this.nc.publish(subject, data);
  }

  onConnectionChange(fn: (state: "disconnected" | "reconnected") => void): void {
    this.connectionListeners.push(fn);
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): BusSubscription {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.log.error({ err, subject }, "subscription error");
          return;
        }
        // A throw here would end nats-core's reader loop and leave the process deaf: contain it.
        try {
          handler({ subject: msg.subject, data: msg.data, ...(msg.reply ? { reply: msg.reply } : {}), respond: (d) => msg.respond(d) });
        } catch (err) {
          // A handler throwing is a bug of ours, not input: keep the stack for the log.
          this.log.error({ err, subject }, "message handler failed");
          this.onHandlerError?.(err as Error, subject);
        }
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const m = await this.nc.request(subject, data, { timeout: timeoutMs });
    return m.data;
  }

  publishRecorded(subject: string, data: Uint8Array, opts: RecordOptions): void {
    // JetStream de-duplicates on this header whether or not the publisher waits for an ack.
    const h = headers();
    h.set("Nats-Msg-Id", opts.msgId);
    if (opts.expectLastMsgId) h.set("Nats-Expected-Last-Msg-Id", opts.expectLastMsgId);
    this.nc.publish(subject, data, { headers: h });
  }

  async record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<RecordAck> {
    this.js ??= jetstream(this.nc);
    const ack = await this.js.publish(subject, data, {
      msgID: opts.msgId,
      ...(opts.expectLastMsgId ? { expect: { lastMsgID: opts.expectLastMsgId } } : {}),
    });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  async jetstreamManager(): Promise<JetStreamManager> {
    return jetstreamManager(this.nc);
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    this.errors.flush("server errors not logged one by one");
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}

/** A failed first connection as a one-line error: refused credentials are an AuthError. */
function connectError(servers: string | string[], err: Error): Error {
  const where = Array.isArray(servers) ? servers.join(",") : servers;
  const text = `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ""}`;
  if (/authori[sz]ation|authentication|permissions/i.test(text))
    return new AuthError(`the NATS server at ${where} refused this component's credentials: ${text}`, { cause: err });
  return new RuntimeFailure(`cannot connect to NATS at ${where}: ${text}`, { cause: err });
}
