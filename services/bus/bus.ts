/** A received message. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Replies to a request; false when the message carried no reply subject. */
  respond(data: Uint8Array): boolean;
}

/** A live subscription. */
export interface BusSubscription {
  unsubscribe(): void;
}

/** Options of a durable record publication (JetStream). */
export interface RecordOptions {
  /** Idempotency key: a second publication with the same id is stored once. */
  msgId: string;
}

/**
 * The message bus the market and firms talk through. Two implementations share this interface:
 * NATS (services/bus/nats.ts) and in-memory (services/bus/memory.ts, for unit tests), so one
 * suite runs against both.
 */
export interface Bus {
  /** Fire-and-forget publication. */
  publish(subject: string, data: Uint8Array): void;
  /** Subscribes with NATS wildcard semantics (`*` one token, `>` the rest). */
  subscribe(subject: string, handler: (msg: BusMessage) => void): BusSubscription;
  /** Request/reply with a timeout in milliseconds; rejects on timeout or when nobody listens. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /**
   * Durably records `data` on `subject` (which a record stream captures) and ALSO delivers it to
   * subscribers. Resolves when stored. Implementations without durability resolve at once.
   */
  record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<void>;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Drains and closes. */
  close(): Promise<void>;
}
