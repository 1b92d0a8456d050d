/**
 * The durable record of cleared rounds. Rounds are batched (up to `maxRounds` or `maxDelayMs`,
 * whichever comes first) into RoundRecord messages published to JetStream with the idempotent id
 * <run>-<first>-<last>, each followed by the RoundStatsBatch of the same rounds (id
 * <run>-<first>-<last>-stats) that progress and metrics readers follow instead of the full record.
 * Acks are awaited off the critical path with a bounded window, so the round loop never waits on
 * the disk unless the server falls behind.
 */
import { type Bus, encode, encodeRecordFromOutcomes, type RoundStats, type RunSubjects } from "../../services/bus/index.js";

export interface RecorderOptions {
  bus: Bus;
  subjects: RunSubjects;
  /** Rounds per record message (default: as many as fit ~256 KiB, at most 64). */
  maxRounds?: number;
  /** Longest a cleared round waits before it is published (default 20 ms). */
  maxDelayMs?: number;
  /** Record messages awaiting their ack before add() asks the caller to wait (default 16). */
  window?: number;
}

export class RoundRecorder {
  private buf: Uint8Array[] = [];
  private stats: RoundStats[] = [];
  private bufBytes = 0;
  private first = -1;
  private last = -1;
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private error: Error | undefined;
  /** Highest round whose record the server acknowledged. */
  committedRound = -1;

  constructor(private readonly o: RecorderOptions) {}

  /**
   * Adds a cleared round (its encoded Outcome and its statistics). Returns a promise when the
   * caller should wait (window full).
   */
  add(round: number, outcome: Uint8Array, stats: RoundStats): Promise<void> | undefined {
    if (this.error) throw this.error;
    if (this.first < 0) this.first = round;
    this.last = round;
    this.buf.push(outcome);
    this.stats.push(stats);
    this.bufBytes += outcome.length;
    const maxRounds = this.o.maxRounds ?? Math.max(1, Math.min(64, Math.floor(262_144 / Math.max(1, outcome.length))));
    this.due = this.buf.length >= maxRounds;
    this.timer ??= setTimeout(() => this.publish(), this.o.maxDelayMs ?? 20);
    if (this.inflight.size >= (this.o.window ?? 16)) return Promise.race(this.inflight).then(() => this.check());
    return undefined;
  }

  private due = false;

  /**
   * Publishes the buffered rounds when a record is due. The market calls this right after a move
   * request, so the large record leaves behind the move in the socket write, off the round's
   * critical path (the market then waits for the firms anyway).
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
    if (this.buf.length === 0) return;
    const { first, last } = this;
    const bytes = encodeRecordFromOutcomes(this.buf);
    const stats = this.stats;
    this.buf = [];
    this.stats = [];
    this.bufBytes = 0;
    this.first = -1;
    const id = `${this.o.subjects.run}-${first}-${last}`;
    // Both on one connection: the stats of a round are stored after its record.
    const recorded = this.o.bus.record(this.o.subjects.record, bytes, { msgId: id });
    const stated = this.o.bus.record(this.o.subjects.stats, encode.stats({ rounds: stats }), { msgId: `${id}-stats` });
    this.track(Promise.all([recorded, stated]), first, last, "recording");
  }

  /**
   * Publishes the statistics of rounds already in the record (a market resuming after a stop
   * between a record and its stats).
   */
  restate(stats: RoundStats[]): void {
    if (stats.length === 0) return;
    const first = Number(stats[0]?.round ?? 0);
    const last = Number(stats[stats.length - 1]?.round ?? 0);
    const p = this.o.bus.record(this.o.subjects.stats, encode.stats({ rounds: stats }), {
      msgId: `${this.o.subjects.run}-${first}-${last}-stats`,
    });
    this.track(p, first, last, "restating");
  }

  private track(done: Promise<unknown>, first: number, last: number, what: string): void {
    const p: Promise<void> = done
      .then(
        () => {
          this.committedRound = Math.max(this.committedRound, last);
        },
        (err: Error) => {
          this.error = new Error(`${what} rounds ${first}-${last} failed: ${err.message}`, { cause: err });
        },
      )
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
