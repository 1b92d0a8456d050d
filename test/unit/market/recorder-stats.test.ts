/**
 * The record stream's two subjects: every record message is followed by the statistics of the same
 * rounds, equal (bit for bit) to what a reader recomputes from the recorded outcomes; a resumed
 * market publishes the statistics the stream is missing, once.
 */
import { describe, expect, it } from "vitest";
import { decode, MemoryBus, type Outcome, type RoundStats, runSubjects, statsOf } from "../../../services/bus/index.js";
import { parseExperiment } from "../../../services/config/index.js";
import { playInProcess } from "../../fixtures/play.js";

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

const play = (bus: MemoryBus, runId: string, resume?: { from: Outcome[]; statsThrough: number }) =>
  playInProcess(bus, exp, runId, resume ? { resumeFrom: resume.from, resumeStatsThrough: resume.statsThrough } : {});

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
    // As if the market stopped after recording round 29 but before the stats of rounds 20..29.
    const bus = new MemoryBus();
    await play(bus, "st2", { from: full.slice(0, 30), statsThrough: 19 });
    const { outcomes, stats } = stored(bus, "st2");
    expect(stats[0]?.id).toBe("st2-20-29-stats");
    expect(stats[0]?.seq).toBe(1);
    const rounds = stats.flatMap((s) => s.rounds.map((x) => Number(x.round)));
    expect(rounds).toEqual(Array.from({ length: 40 }, (_, i) => 20 + i));
    expect(outcomes.map((o) => Number(o.round))).toEqual(Array.from({ length: 30 }, (_, i) => 30 + i));
    // The resumed run equals the uninterrupted one.
    expect(outcomes.map((o) => o.prices)).toEqual(full.slice(30).map((o) => o.prices));
  });
});
