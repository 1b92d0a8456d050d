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

  constructor(private readonly o: RecorderOptions) {}

  /**
   * Publishes a cleared round's Outcome (delivered to firms and stored by the stream) and buffers
   * its statistics. Returns a promise when the caller should wait (ack window full).
   */
  add(round: number, outcome: Uint8Array, stats: RoundStats): Promise<void> | undefined {
    if (this.error) throw this.error;
    this.o.bus.publishRecorded(this.o.subjects.outcome, outcome, { msgId: `${this.o.subjects.run}-${round}` });
    this.published++;
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
    if (this.stats.length === 0) return;
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
    const msgId = `${this.o.subjects.run}-${first}-${last}-stats`;
    const data = encode.stats({ rounds: stats });
    // An ack that does not come in time (the connection is busy, e.g. a firm floods the market) is
    // not a lost record: publish again with the same id. The stream stores the id once and answers
    // with the first copy's sequence, which is then checked like any other.
    const attempt = (n: number): Promise<void> =>
      this.o.bus.record(this.o.subjects.stats, data, { msgId }).then(
        (ack) => {
          // Acks of one connection come back in publication order, so every duplicate before this
          // message has been counted. A duplicate of our own earlier attempt is this message.
          if (ack.duplicate && n === 0) {
            this.duplicates++;
            return;
          }
          const expected = (this.o.streamSeq ?? 0) + sent - this.duplicates;
          if (ack.seq !== expected)
            throw new RecordBroken(
              `the record stream ${this.o.subjects.stream} stored message ${ack.seq} where ${expected} was expected: an outcome up to round ${last} was not recorded, or another client published on ${this.o.subjects.outcome} (a server without auth?); the run stops`,
            );
        },
        (err: Error) => {
          if (n < (this.o.retries ?? 5) && /timeout|timed out/i.test(`${err.name} ${err.message}`)) return attempt(n + 1);
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

  /** Publishes what is buffered and waits for every ack; throws if any record failed. */
  async flush(): Promise<void> {
    this.publish();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    this.check();
  }
}
