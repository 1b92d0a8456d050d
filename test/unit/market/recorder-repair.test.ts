/**
 * A repairable record (the market CLI's: it can read the stream's state): outcomes lost on the way
 * to the stream are published again in order, never leaving a gap, and a foreign message still
 * stops the run. The stream here is the in-memory bus's store plus JetStream's expected-last-id
 * check, so a publication that names a predecessor the stream does not hold last is refused.
 */
import { describe, expect, it } from "vitest";
import type { StreamState } from "../../../market/service/recorder.js";
import { decode, MemoryBus, type RecordAck, type RecordOptions, runSubjects } from "../../../services/bus/index.js";
import { parseExperiment } from "../../../services/config/index.js";
import { playInProcess } from "../../fixtures/play.js";

const exp = parseExperiment({
  name: "repair",
  seed: 4,
  market: { demand: { kind: "linear", a: 100, b: 1 }, dynamics: { shock: { rho: 0.5, sigma: 2 } }, batch: 3, episodes: 120, quantityMax: 100 },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
});

/** The in-memory store with JetStream's Nats-Expected-Last-Msg-Id check; drops chosen first publications. */
class ChainedStream extends MemoryBus {
  refused = 0;
  lost = 0;
  constructor(
    private readonly drop: Set<string>,
    private readonly foreignBefore?: string,
  ) {
    super();
  }

  private lastId(): string | undefined {
    return [...this.records.keys()].at(-1);
  }

  private accepts(subject: string, opts: RecordOptions): boolean {
    if (this.foreignBefore === opts.msgId && !this.records.has("foreign")) super.publishRecorded(subject, new Uint8Array([1, 2, 3]), { msgId: "foreign" });
    if (this.drop.delete(opts.msgId)) {
      this.lost++;
      return false;
    }
    if (opts.expectLastMsgId !== undefined && opts.expectLastMsgId !== this.lastId()) {
      this.refused++;
      return false;
    }
    return true;
  }

  override publishRecorded(subject: string, data: Uint8Array, opts: RecordOptions): void {
    if (this.records.has(opts.msgId) || this.accepts(subject, opts)) super.publishRecorded(subject, data, opts);
    else this.publish(subject, data);
  }

  override async record(subject: string, data: Uint8Array, opts: RecordOptions): Promise<RecordAck> {
    if (!this.records.has(opts.msgId) && !this.accepts(subject, opts)) throw new Error("wrong last msg ID");
    return super.record(subject, data, opts);
  }

  state(runId: string): StreamState {
    const s = runSubjects(runId);
    const all = [...this.records.entries()];
    const outcomes = all.filter(([, m]) => m.subject === s.outcome);
    const last = all.at(-1);
    const lastOutcome = outcomes.at(-1);
    return {
      outcomes: outcomes.length,
      lastSeq: last?.[1].seq ?? 0,
      lastMsgId: last?.[0],
      lastOutcome: lastOutcome ? { seq: lastOutcome[1].seq, msgId: lastOutcome[0] } : undefined,
    };
  }

  /** Rounds of the stored outcomes, in store order. */
  rounds(runId: string): number[] {
    const s = runSubjects(runId);
    return [...this.records.values()].filter((m) => m.subject === s.outcome).map((m) => Number(decode.outcome(m.data).round));
  }
}

describe("record repair", () => {
  it("record repair - outcomes lost on their way to the stream are published again in order: every round stored once, no gap", async () => {
    const bus = new ChainedStream(new Set(["rp1-10", "rp1-11", "rp1-70"]));
    const rounds = await playInProcess(bus, exp, "rp1", { recordState: async () => bus.state("rp1") });
    expect(rounds).toHaveLength(120);
    expect(bus.lost).toBe(3);
    // The rounds after a lost one were refused (they named a predecessor the stream lacked), not stored after a gap.
    expect(bus.refused).toBeGreaterThan(0);
    expect(bus.rounds("rp1")).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });

  it("record repair - a foreign message in a repairable record still stops the run with a clear error", async () => {
    const bus = new ChainedStream(new Set(), "rp2-10");
    await expect(playInProcess(bus, exp, "rp2", { recordState: async () => bus.state("rp2") })).rejects.toThrow(
      /the record stream STK_rp2 stored message \d+ where \d+ was expected last: an outcome was not recorded by this market, or another client published/,
    );
  });
});
