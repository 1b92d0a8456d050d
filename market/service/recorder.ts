/**
 * The durable record of cleared rounds: the run's JetStream stream captures every Outcome the
 * market publishes (one message per round, idempotent id <run>-<round>), so what firms saw is
 * what is recorded and the outcome crosses the network once. After a few milliseconds' worth of
 * rounds, the RoundStatsBatch of those rounds follows on the stats subject (id
 * <run>-<first>-<last>-stats), published with an ack: the stream stores a connection's messages in
 * order, so the ack's sequence number must equal the number of messages published so far; any
 * other number means an outcome was not stored, and the run stops. Acks are awaited off the
 * critical path with a bounded window, so the round loop never waits on the disk unless the
 * server falls behind.
 *
 * A lost connection (a server restart, a cluster node lost) can take the last outcomes with it:
 * they were written to a socket nobody read. The market then suspends the recorder and, once the
 * connection is back, resyncs: the outcomes the stream lacks are published again, in order, from
 * the ones kept until a stats ack confirmed them, and the count starts again from the stream's
 * state.
 */
import type { Bus, RoundStats, RunSubjects } from "../../services/bus/index.js";
import { encode } from "../../services/bus/index.js";
import { RecordBroken } from "../../services/errors.js";

export interface RecorderOptions {
  /** The bus the market publishes its outcomes on (the order check needs one connection). */
  bus: Bus;
  subjects: RunSubjects;
  /** The stream's last sequence number when the market started (0 for a new stream). */
  streamSeq?: number;
  /** Rounds per stats message (default 64). */
  maxRounds?: number;
  /** Longest a cleared round waits before its stats are published (default 20 ms). */
  maxDelayMs?: number;
  /** Stats messages awaiting their ack before add() asks the caller to wait (default 16). */
  window?: number;
  /** Publications of one stats message after an ack timeout (default 5). */
  retries?: number;
  /**
   * The stream's state now. With it the record is repairable: every publication names the one
   * before it (the stream refuses it otherwise, so the record never has a gap), and a lost
   * connection or a refused or unconfirmed publication leads to resync() instead of stopping the
   * run. A bus that cannot lose messages (in-memory) does without.
   */
  recordState?: () => Promise<StreamState>;
  /** The id of the stream's last message when the market started (the first publication names it). */
  lastMsgId?: string;
  /** Called when the record is in doubt (repairable only): the market holds its rounds and calls resync(). */
  onDoubt?: () => void;
  /** How long resync() keeps retrying a stream that does not answer (default 60 s). */
  resyncTimeoutMs?: number;
}

/** What resync() needs to know of the record stream. */
export interface StreamState {
  /** Outcomes it holds. */
  outcomes: number;
  /** Its last sequence number, and that message's id. */
  lastSeq: number;
  lastMsgId: string | undefined;
  /** The last outcome's sequence number and id. */
  lastOutcome: { seq: number; msgId: string | undefined } | undefined;
}

/** A published outcome no stats ack has confirmed yet. */
interface Unconfirmed {
  round: number;
  data: Uint8Array;
  /** Its place among the recorder's publications (`published` after it). */
  index: number;
}

export class RoundRecorder {
  private stats: RoundStats[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private error: Error | undefined;
  /** Messages published to the stream so far (outcomes and stats), on top of `streamSeq`. */
  private published = 0;
  /** Stats messages the stream reported as duplicates (not stored again). */
  private duplicates = 0;
  private due = false;
  /** The stream's sequence number the count starts from (the stream's last when the market started, or at the last resync). */
  private base: number;
  /** Outcomes published but not yet confirmed stored (kept for resync). */
  private unconfirmed: Unconfirmed[] = [];
  /** Between a lost connection and the end of resync: acks are not counted, stats wait. */
  private suspended = false;
  /** Bumped at each suspension: acks of earlier publications are not counted. */
  private epoch = 0;
  /** Stats messages sent before a lost connection whose every attempt failed: resync sends them again. */
  private failedStats: Array<{ msgId: string; data: Uint8Array }> = [];
  /** The id of the last message published (repairable record only): the next one names it. */
  private chain: string | undefined;
  /** The sequence number of the last message known stored by this market. */
  private confirmedSeq: number;

  constructor(private readonly o: RecorderOptions) {
    this.base = o.streamSeq ?? 0;
    this.confirmedSeq = this.base;
    this.chain = o.lastMsgId;
  }

  /** Options of the next publication with id `msgId` (chained when repairable). */
  private next(msgId: string): { msgId: string; expectLastMsgId?: string } {
    if (!this.o.recordState) return { msgId };
    const prev = this.chain;
    this.chain = msgId;
    return prev ? { msgId, expectLastMsgId: prev } : { msgId };
  }

  /** The record may miss a publication: hold on and repair (repairable), once per doubt. */
  private doubt(): void {
    if (this.suspended) return;
    this.suspend();
    this.o.onDoubt?.();
  }

  /**
   * Publishes a cleared round's Outcome (delivered to firms and stored by the stream) and buffers
   * its statistics. Returns a promise when the caller should wait (ack window full).
   */
  add(round: number, outcome: Uint8Array, stats: RoundStats): Promise<void> | undefined {
    if (this.error) throw this.error;
    this.o.bus.publishRecorded(this.o.subjects.outcome, outcome, this.next(`${this.o.subjects.run}-${round}`));
    this.published++;
    if (this.o.recordState) this.unconfirmed.push({ round, data: outcome, index: this.published });
    this.stats.push(stats);
    this.due = this.stats.length >= (this.o.maxRounds ?? 64);
    this.timer ??= setTimeout(() => this.publish(), this.o.maxDelayMs ?? 20);
    if (this.inflight.size >= (this.o.window ?? 16)) return Promise.race(this.inflight).then(() => this.check());
    return undefined;
  }

  /**
   * Publishes the buffered stats when a batch is due. The market calls this right after a move
   * request, so the stats leave behind the move, off the round's critical path.
   */
  publishIfDue(): void {
    if (this.due) this.publish();
  }

  private check(): void {
    if (this.error) throw this.error;
  }

  private publish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    if (this.stats.length === 0 || this.suspended) return;
    const stats = this.stats;
    this.stats = [];
    this.send(stats, "recording");
  }

  /**
   * Publishes the statistics of rounds already in the record whose stats the stream lacks (a
   * market resuming after a stop between outcomes and their stats), in runs of consecutive rounds
   * of at most `maxRounds`.
   */
  restate(stats: RoundStats[]): void {
    let chunk: RoundStats[] = [];
    for (const st of stats) {
      const prev = chunk[chunk.length - 1];
      if (prev && (Number(st.round) !== Number(prev.round) + 1 || chunk.length >= (this.o.maxRounds ?? 64))) {
        this.send(chunk, "restating");
        chunk = [];
      }
      chunk.push(st);
    }
    if (chunk.length > 0) this.send(chunk, "restating");
  }

  private send(stats: RoundStats[], what: string): void {
    const first = Number(stats[0]?.round ?? 0);
    const last = Number(stats[stats.length - 1]?.round ?? 0);
    const sent = ++this.published;
    const epoch = this.epoch;
    const msgId = `${this.o.subjects.run}-${first}-${last}-stats`;
    const opts = this.next(msgId);
    const data = encode.stats({ rounds: stats });
    // An ack that does not come in time (the connection is busy, e.g. a firm floods the market) is
    // not a lost record: publish again with the same id. The stream stores the id once and answers
    // with the first copy's sequence, which is then checked like any other.
    const attempt = (n: number): Promise<void> =>
      this.o.bus.record(this.o.subjects.stats, data, opts).then(
        (ack) => {
          // Sent before a lost connection: the count is re-based by resync, not checked here.
          if (epoch !== this.epoch) return;
          // Acks of one connection come back in publication order, so every duplicate before this
          // message has been counted. A duplicate of our own earlier attempt is this message.
          if (ack.duplicate && n === 0) {
            this.duplicates++;
            return;
          }
          const expected = this.base + sent - this.duplicates;
          if (ack.seq !== expected && this.o.recordState) {
            this.doubt();
            return;
          }
          if (ack.seq !== expected)
            throw new RecordBroken(
              `the record stream ${this.o.subjects.stream} stored message ${ack.seq} where ${expected} was expected: an outcome up to round ${last} was not recorded, or another client published on ${this.o.subjects.outcome} (a server without auth?); the run stops`,
            );
          // Everything published before this message is stored.
          while ((this.unconfirmed[0]?.index ?? Number.POSITIVE_INFINITY) < sent) this.unconfirmed.shift();
          this.confirmedSeq = ack.seq;
        },
        (err: Error) => {
          if (n < (this.o.retries ?? 5) && (epoch === this.epoch || !this.o.recordState) && /timeout|timed out/i.test(`${err.name} ${err.message}`)) return attempt(n + 1);
          // Refused (a gap before it), lost with the connection, or never confirmed: resync sends it again.
          if (this.o.recordState) {
            this.failedStats.push({ msgId, data });
            if (epoch === this.epoch) this.doubt();
            return;
          }
          throw err;
        },
      );
    const p: Promise<void> = attempt(0)
      .catch((err: Error) => {
        this.error ??=
          err instanceof RecordBroken ? err : new RecordBroken(`${what} rounds ${first}-${last} failed: ${err.message}`, { cause: err });
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** The connection is lost: until resync(), acks are not counted and stats wait. */
  suspend(): void {
    this.suspended = true;
    this.epoch++;
  }

  /**
   * The connection is back: waits for the stats sent before (they retry), publishes again, in
   * order, the outcomes the stream lacks and the stats that failed, re-bases the count on the
   * stream's state and publishes the waiting stats. Returns how many outcomes were published again.
   */
  resync(): Promise<number> {
    // One repair at a time (the market's and a final flush's may meet).
    this.resyncing ??= this.repair().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private resyncing: Promise<number> | undefined;

  private async repair(): Promise<number> {
    const state = this.o.recordState;
    this.suspend();
    if (!state) {
      this.suspended = false;
      this.publish();
      return 0;
    }
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    this.check();
    const until = Date.now() + (this.o.resyncTimeoutMs ?? 60_000);
    // Right after a reconnection the stream may still be electing a leader: try again until it answers.
    const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          if (Date.now() > until)
            throw new RecordBroken(`the record stream ${this.o.subjects.stream} did not answer after the connection came back (${what}): ${(err as Error).message}`, { cause: err });
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };
    const before = await retrying("reading its state", state);
    this.own(before);
    const missing = this.unconfirmed.filter((u) => u.round >= before.outcomes);
    // In order, each naming the one before: what is stored stays contiguous.
    let chain = before.lastMsgId;
    for (const u of missing) {
      const msgId = `${this.o.subjects.run}-${u.round}`;
      const prev = chain;
      await retrying(`recording round ${u.round}`, () =>
        this.o.bus.record(this.o.subjects.outcome, u.data, prev ? { msgId, expectLastMsgId: prev } : { msgId }),
      );
      chain = msgId;
    }
    // Stats name no predecessor: one already stored is answered as a duplicate.
    for (const f of this.failedStats.splice(0)) await retrying("recording stats", () => this.o.bus.record(this.o.subjects.stats, f.data, { msgId: f.msgId }));
    const after = await retrying("reading its state", state);
    if (after.outcomes !== before.outcomes + missing.length) this.own(after);
    this.base = after.lastSeq;
    this.confirmedSeq = after.lastSeq;
    this.chain = after.lastMsgId;
    this.published = 0;
    this.duplicates = 0;
    this.unconfirmed = [];
    this.suspended = false;
    this.publish();
    return missing.length;
  }

  /**
   * Checks that the stream's last outcome is this market's last published round, or one before it
   * (never a foreign message, possible only on a server without auth): RecordBroken otherwise.
   */
  private own(st: StreamState): void {
    const round = st.outcomes - 1;
    const mine = st.lastOutcome === undefined ? round < 0 : st.lastOutcome.msgId === `${this.o.subjects.run}-${round}`;
    if (!mine)
      throw new RecordBroken(
        `the record stream ${this.o.subjects.stream} stored message ${st.lastOutcome?.seq ?? 0} where ${this.confirmedSeq} was expected last: an outcome was not recorded by this market, or another client published on ${this.o.subjects.outcome} (a server without auth?); the run stops`,
      );
  }

  /** Publishes what is buffered and waits for every ack; throws if any record failed. */
  async flush(): Promise<void> {
    for (;;) {
      this.publish();
      while (this.inflight.size > 0) await Promise.all([...this.inflight]);
      this.check();
      if (!this.suspended) return;
      // A doubt raised by the last acks (or a connection lost at the end): repair before the run ends.
      await this.resync();
    }
  }
}
