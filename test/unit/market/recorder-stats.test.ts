/**
 * The record stream's two subjects: every record message is followed by the statistics of the same
 * rounds, equal (bit for bit) to what a reader recomputes from the recorded outcomes; a resumed
 * market publishes the statistics the stream is missing, once.
 */
import { describe, expect, it } from "vitest";
import { type Bus, decode, MemoryBus, type Outcome, type RoundStats, runSubjects, statsOf } from "../../../services/bus/index.js";
import { parseExperiment } from "../../../services/config/index.js";
import { playInProcess } from "../../fixtures/play.js";
import { RoundRecorder } from "../../../market/service/recorder.js";

const exp = parseExperiment({
  name: "stats",
  seed: 5,
  market: {
    demand: { kind: "linear", a: 100, b: 1 },
    dynamics: { shock: { rho: 0.5, sigma: 2 } },
    batch: 7,
    episodes: 6,
    roundsPerEpisode: 10,
    quantityMax: 100,
  },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "quadratic", c: 5, d: 0.1 }, policy: { kind: "best-response" } },
  ],
});

const play = (bus: MemoryBus, runId: string, resume?: { from: Outcome[]; statsOf: number[] }) =>
  playInProcess(bus, exp, runId, resume ? { resumeFrom: resume.from, resumeStatsRounds: new Set(resume.statsOf) } : {});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The stored outcomes and stats of a run, in store order, with their message ids and sequence numbers. */
function stored(bus: MemoryBus, runId: string) {
  const s = runSubjects(runId);
  const outcomes: Array<Outcome & { id: string; seq: number }> = [];
  const stats: Array<{ id: string; seq: number; rounds: RoundStats[] }> = [];
  for (const [id, m] of bus.records) {
    if (m.subject === s.outcome) outcomes.push(Object.assign(decode.outcome(m.data), { id, seq: m.seq }));
    else if (m.subject === s.stats) stats.push({ id, seq: m.seq, rounds: decode.stats(m.data).rounds ?? [] });
  }
  return { outcomes, stats };
}

describe("record statistics", () => {
  it("record statistics - every outcome is recorded once under its round's id, followed by stats with bit-identical means", async () => {
    const bus = new MemoryBus();
    await play(bus, "st1");
    const { outcomes, stats } = stored(bus, "st1");
    expect(outcomes.map((o) => Number(o.round))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(outcomes.map((o) => o.id)).toEqual(outcomes.map((o) => `st1-${Number(o.round)}`));
    const all = stats.flatMap((s) => s.rounds);
    expect(all.map((s) => Number(s.round))).toEqual(outcomes.map((o) => Number(o.round)));
    for (const s of stats) {
      const first = Number(s.rounds[0]?.round);
      const last = Number(s.rounds.at(-1)?.round);
      expect(s.id).toBe(`st1-${first}-${last}-stats`);
      // stored after the outcomes it summarizes
      expect(s.seq).toBeGreaterThan(outcomes[last]?.seq ?? Number.POSITIVE_INFINITY);
    }
    all.forEach((st, r) => {
      const want = statsOf(outcomes[r] as Outcome);
      expect(st.quantityMeans).toEqual(want.quantityMeans);
      expect(st.profitMeans).toEqual(want.profitMeans);
      expect(st.priceMean).toBe(want.priceMean);
      expect(st.firmIds).toEqual(["follower", "leader"]);
      expect(st.episode).toBe(outcomes[r]?.episode);
    });
    // Means really vary (shocks, quadratic cost): the check above is not comparing constants.
    expect(new Set(all.map((s) => s.priceMean)).size).toBeGreaterThan(30);
  });

  it("record statistics - an outcome the stream did not store stops the run with a clear error", async () => {
    class Lossy extends MemoryBus {
      override publishRecorded(subject: string, data: Uint8Array, opts: { msgId: string }): void {
        if (opts.msgId === "st3-10") this.publish(subject, data);
        else super.publishRecorded(subject, data, opts);
      }
    }
    await expect(play(new Lossy(), "st3")).rejects.toThrow(/up to round \d+ was not recorded/);
  });

  it("record statistics - a resumed market publishes the missing stats once and continues", async () => {
    const first = new MemoryBus();
    await play(first, "st2");
    const full = stored(first, "st2").outcomes;
    // As if the market stopped after recording round 29 while the stats of rounds 10..14 and
    // 20..29 were not stored.
    const bus = new MemoryBus();
    await play(bus, "st2", { from: full.slice(0, 30), statsOf: [...range(0, 10), ...range(15, 20)] });
    const { outcomes, stats } = stored(bus, "st2");
    expect(stats.slice(0, 2).map((s) => [s.id, s.seq])).toEqual([
      ["st2-10-14-stats", 1],
      ["st2-20-29-stats", 2],
    ]);
    const rounds = stats.flatMap((s) => s.rounds.map((x) => Number(x.round)));
    expect(rounds).toEqual([...range(10, 15), ...range(20, 60)]);
    expect(outcomes.map((o) => Number(o.round))).toEqual(Array.from({ length: 30 }, (_, i) => 30 + i));
    // The resumed run equals the uninterrupted one.
    expect(outcomes.map((o) => o.prices)).toEqual(full.slice(30).map((o) => o.prices));
  });
});

describe("round recorder", () => {
  const subjects = runSubjects("rr");
  const st = (round: number): RoundStats => ({
    round,
    firmIds: ["a"],
    priceMean: round,
    quantityMeans: [1],
    profitMeans: [2],
    absent: [false],
  });

  it("round recorder - counts on from the stream's sequence and skips stats the stream already holds", async () => {
    const bus = new MemoryBus();
    // Three messages already stored, one of them the stats of round 0.
    bus.publishRecorded(subjects.outcome, new Uint8Array([0]), { msgId: "rr-0" });
    await bus.record(subjects.stats, new Uint8Array([1]), { msgId: "rr-0-0-stats" });
    bus.publishRecorded(subjects.outcome, new Uint8Array([2]), { msgId: "rr-1" });
    const rec = new RoundRecorder({ bus, subjects, streamSeq: 3, maxRounds: 2 });
    rec.restate([st(0)]); // a duplicate: not stored again, the count must not move
    for (let r = 2; r < 7; r++) {
      rec.add(r, new Uint8Array([r]), st(r));
      rec.publishIfDue();
    }
    await rec.flush();
    expect(bus.records.size).toBe(3 + 5 + 3);
  });

  it("round recorder - a wrong starting sequence is reported as a lost outcome", async () => {
    const bus = new MemoryBus();
    const rec = new RoundRecorder({ bus, subjects, streamSeq: 1 });
    rec.add(0, new Uint8Array([0]), st(0));
    await expect(rec.flush()).rejects.toThrow(/stored message 2 where 3 was expected: an outcome up to round 0 was not recorded/);
  });

  it("round recorder - an ack that times out is published again with the same id; the first copy's sequence is checked", async () => {
    const bus = new MemoryBus();
    let timeouts = 0;
    // The store keeps the first copy but its ack never arrives (a connection busy with a flood).
    const slow: Bus = {
      ...bus.connection("_INBOX.m"),
      record: async (subject, data, opts) => {
        const ack = await bus.record(subject, data, opts);
        if (!ack.duplicate && timeouts < 2) {
          timeouts++;
          const e = new Error("TIMEOUT");
          e.name = "TimeoutError";
          throw e;
        }
        return ack;
      },
    };
    const rec = new RoundRecorder({ bus: slow, subjects, maxRounds: 1 });
    for (let r = 0; r < 4; r++) {
      rec.add(r, new Uint8Array([r]), st(r));
      rec.publishIfDue();
    }
    await rec.flush();
    expect(timeouts).toBe(2);
    expect(bus.records.size).toBe(8); // 4 outcomes + 4 stats, each once

    // Without an answer at all the run stops with the reason.
    const dead: Bus = { ...bus.connection("_INBOX.m"), record: () => Promise.reject(Object.assign(new Error("TIMEOUT"), { name: "TimeoutError" })) };
    const rec2 = new RoundRecorder({ bus: dead, subjects: runSubjects("rr2"), retries: 2 });
    rec2.add(0, new Uint8Array([0]), st(0));
    await expect(rec2.flush()).rejects.toThrow(/recording rounds 0-0 failed: TIMEOUT/);
  });
});
