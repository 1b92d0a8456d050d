import type { Bus, BusMessage, BusSubscription, RecordAck, RecordOptions } from "./bus.js";
import { tokensMatch as subjectMatches } from "./subjects.js";

interface Sub {
  tokens: string[];
  handler: (msg: BusMessage) => void;
  active: boolean;
}


/**
 * An in-process bus with NATS semantics (asynchronous delivery in publication order, wildcards,
 * request/reply through inbox subjects). Used by unit tests of the market and firms.
 */
export class MemoryBus implements Bus {
  private subs: Sub[] = [];
  private inbox = 0;
  private closed = false;
  private queue: Array<() => void> = [];
  private draining = false;
  /** Everything passed to record() or publishRecorded(), by message id (the idempotent store), in store order. */
  readonly records = new Map<string, { subject: string; data: Uint8Array; seq: number }>();

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.closed) throw new Error("bus closed");
    const tokens = subject.split(".");
    const copy = data.slice();
    for (const s of this.subs) {
      if (!subjectMatches(s.tokens, tokens)) continue;
      this.enqueue(() => {
        if (!s.active) return;
        s.handler({
          subject,
          data: copy,
          ...(reply !== undefined ? { reply } : {}),
          respond: (d: Uint8Array) => {
            if (reply === undefined) return false;
            this.publish(reply, d);
            return true;
          },
        });
      });
    }
  }

  private enqueue(fn: () => void): void {
    this.queue.push(fn);
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(() => {
      // Deliver in publication order; handlers may publish more, which joins the queue.
      while (this.queue.length > 0) this.queue.shift()?.();
      this.draining = false;
    });
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): BusSubscription {
    const sub: Sub = { tokens: subject.split("."), handler, active: true };
    this.subs.push(sub);
    return {
      unsubscribe: () => {
        sub.active = false;
        this.subs = this.subs.filter((s) => s !== sub);
      },
    };
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.requestFrom("_INBOX.mem", subject, data, timeoutMs);
  }

  /**
   * A connection to this bus whose requests use inbox prefix `inboxPrefix`, like a NATS connection
   * made with that prefix (a firm's identity answers only in its own inbox).
   */
  connection(inboxPrefix: string): Bus {
    return {
      publish: (s, d) => this.publish(s, d),
      subscribe: (s, h) => this.subscribe(s, h),
      request: (s, d, t) => this.requestFrom(inboxPrefix, s, d, t),
      publishRecorded: (s, d, o) => this.publishRecorded(s, d, o),
      record: (s, d, o) => this.record(s, d, o),
      flush: () => this.flush(),
      close: async () => {},
    };
  }

  private requestFrom(prefix: string, subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const inbox = `${prefix}.${++this.inbox}`;
    const tokens = subject.split(".");
    if (!this.subs.some((s) => subjectMatches(s.tokens, tokens)))
      return Promise.reject(new Error(`no responders for ${subject}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`request to ${subject} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.subscribe(inbox, (m) => {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(m.data);
      });
      this.publish(subject, data, inbox);
    });
  }

  private store(subject: string, data: Uint8Array, msgId: string): RecordAck {
    const had = this.records.get(msgId);
    if (had) return { seq: had.seq, duplicate: true };
    const seq = this.records.size + 1;
    this.records.set(msgId, { subject, data: data.slice(), seq });
    return { seq, duplicate: false };
  }

  publishRecorded(subject: string, data: Uint8Array, opts: RecordOptions): void {
    this.store(subject, data, opts.msgId);
    this.publish(subject, data);
  }

  async record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<RecordAck> {
    const ack = this.store(subject, data, opts.msgId);
    this.publish(subject, data);
    return ack;
  }

  async flush(): Promise<void> {
    await new Promise<void>((r) => setTimeout(r, 0));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subs = [];
  }
}
