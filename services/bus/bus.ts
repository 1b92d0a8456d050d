/** A received message. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The reply subject the sender named, if any (chosen by the sender: check it before answering). */
  readonly reply?: string;
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
  /**
   * The id of the message the stream must hold last, or it refuses this one: publications chained
   * this way can be lost but never stored with a gap before them.
   */
  expectLastMsgId?: string;
}

/** The store's acknowledgement of a record publication. */
export interface RecordAck {
  /** Sequence number of the stored message in its stream (of the first copy, for a duplicate). */
  seq: number;
  /** True when a message with the same id was already stored (this one was dropped). */
  duplicate: boolean;
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
   * Fire-and-forget publication on a subject a record stream captures, with an idempotency id
   * (stored once per id). Delivered to subscribers like `publish`; whether it was stored is
   * learnt from the sequence number of a later `record` on the same bus.
   */
  publishRecorded(subject: string, data: Uint8Array, opts: RecordOptions): void;
  /**
   * Durably records `data` on `subject` (which a record stream captures) and ALSO delivers it to
   * subscribers. Resolves with the store's ack.
   */
  record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<RecordAck>;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  /**
   * Calls `fn` when the connection to the server is lost and when it is back (a bus that cannot
   * lose its connection, like the in-memory one, leaves this out). Messages published in between
   * may be lost: the market re-sends what matters when it is back.
   */
  onConnectionChange?(fn: (state: "disconnected" | "reconnected") => void): void;
  /** Drains and closes. */
  close(): Promise<void>;
}
