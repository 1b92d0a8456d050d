import { describe, expect, it } from "vitest";
import { type Decision, RoundMachine } from "../../../market/service/round-machine.js";
import { RejectCode, roleOfTier } from "../../../services/bus/protocol.js";

const cfg = {
  firms: [
    { id: "f1", tier: 1 },
    { id: "f2", tier: 1 },
    { id: "leader", tier: 0 },
  ],
  batch: 2,
  quantityMax: 100,
  deadlineMs: 1000,
  defaultAction: "last" as const,
  maxMisses: 2,
};

function ready(defaultAction: "last" | "zero" | "exclude" = "last"): RoundMachine {
  const m = new RoundMachine({ ...cfg, defaultAction });
  for (const f of cfg.firms) expect(m.register(f.id, f.tier, roleOfTier(f.tier))).toBeNull();
  return m;
}
const rejects = (ds: Decision[]) => ds.filter((d) => d.kind === "reject").map((d) => (d as { code: number }).code);
const clearOf = (ds: Decision[]) => ds.find((d) => d.kind === "clear") as Extract<Decision, { kind: "clear" }> | undefined;

describe("round machine", () => {
  it("round machine - opens tier 0, then tier 1 with the leader's quantities, then clears", () => {
    const m = ready();
    const open = m.startRound(0, 0);
    expect(open).toMatchObject([{ kind: "open-tier", tier: 0, round: 0, deadline: 1000 }]);
    const afterLeader = m.submit("leader", "leader", 0, [40, 50], 10);
    expect(afterLeader).toHaveLength(1);
    const t1 = afterLeader[0] as Extract<Decision, { kind: "open-tier" }>;
    expect(t1.tier).toBe(1);
    expect(Array.from(t1.committed)).toEqual([40, 50]);
    expect(m.submit("f1", "f1", 0, [1, 2], 20)).toEqual([]);
    const c = clearOf(m.submit("f2", "f2", 0, [3, 4], 30));
    // firm-major in id order: f1, f2, leader
    expect(Array.from(c?.quantities ?? [])).toEqual([1, 2, 3, 4, 40, 50]);
    expect(c?.absent).toEqual([false, false, false]);
  });

  it("round machine - a follower before the leaders' tier closes is OUT_OF_ORDER and changes nothing", () => {
    const m = ready();
    m.startRound(0, 0);
    expect(rejects(m.submit("f1", "f1", 0, [1, 1], 1))).toEqual([RejectCode.OUT_OF_ORDER]);
    m.submit("leader", "leader", 0, [10, 10], 2);
    m.submit("f1", "f1", 0, [5, 5], 3);
    const c = clearOf(m.submit("f2", "f2", 0, [6, 6], 4));
    expect(Array.from(c?.quantities ?? [])).toEqual([5, 5, 6, 6, 10, 10]);
  });

  it("round machine - each rule has its reject code", () => {
    const m = ready();
    m.startRound(0, 0);
    expect(rejects(m.submit("ghost", "ghost", 0, [1, 1], 1))).toEqual([RejectCode.UNKNOWN_FIRM]);
    expect(rejects(m.submit("leader", "f1", 0, [1, 1], 1))).toEqual([RejectCode.MALFORMED]);
    expect(rejects(m.submit("leader", "leader", 0, [1], 1))).toEqual([RejectCode.WRONG_BATCH]);
    expect(rejects(m.submit("leader", "leader", 0, [Number.NaN, 1], 1))).toEqual([RejectCode.INVALID_QUANTITY]);
    expect(rejects(m.submit("leader", "leader", 0, [-1, 1], 1))).toEqual([RejectCode.INVALID_QUANTITY]);
    expect(rejects(m.submit("leader", "leader", 0, [101, 1], 1))).toEqual([RejectCode.INVALID_QUANTITY]);
    expect(rejects(m.submit("leader", "leader", 0, [Number.POSITIVE_INFINITY, 1], 1))).toEqual([RejectCode.INVALID_QUANTITY]);
    expect(rejects(m.submit("leader", "leader", 3, [1, 1], 1))).toEqual([RejectCode.OUT_OF_ORDER]);
    expect(rejects(m.submit("leader", "leader", 0, [1, 1], 1))).toEqual([]);
    expect(rejects(m.submit("leader", "leader", 0, [2, 2], 1))).toEqual([RejectCode.DUPLICATE]);
  });

  it("round machine - a missed deadline gives the default action and the absent flag", () => {
    const m = ready("last");
    m.startRound(0, 0);
    m.submit("leader", "leader", 0, [10, 20], 1);
    m.submit("f1", "f1", 0, [1, 2], 2);
    clearOf(m.submit("f2", "f2", 0, [3, 4], 3));
    m.startRound(1, 100);
    m.submit("leader", "leader", 1, [11, 21], 101);
    m.submit("f1", "f1", 1, [7, 7], 102);
    expect(m.tick(500)).toEqual([]);
    const c = clearOf(m.tick(101 + 1000));
    expect(c?.absent).toEqual([false, true, false]);
    expect(Array.from(c?.quantities ?? [])).toEqual([7, 7, 3, 4, 11, 21]);
    // a late submission after the deadline is LATE
    m.startRound(2, 2000);
    expect(clearOf(m.tick(3001))).toBeUndefined();
    expect(rejects(m.submit("leader", "leader", 2, [1, 1], 3500))).toEqual([RejectCode.LATE]);
  });

  it("round machine - exclusion and zero defaults", () => {
    for (const action of ["zero", "exclude"] as const) {
      const m = ready(action);
      m.startRound(0, 0);
      m.submit("leader", "leader", 0, [10, 20], 1);
      m.submit("f1", "f1", 0, [1, 2], 2);
      const c = clearOf(m.tick(5000));
      expect(Array.from(c?.quantities ?? [])).toEqual([1, 2, 0, 0, 10, 20]);
      expect(c?.excluded).toEqual([false, action === "exclude", false]);
    }
  });

  it("round machine - eviction after repeated misses, lifted by re-registration", () => {
    const m = ready("zero");
    let round = 0;
    const playRound = (withF2: boolean) => {
      m.startRound(round, round * 10_000);
      m.submit("leader", "leader", round, [10, 10], round * 10_000 + 1);
      m.submit("f1", "f1", round, [1, 1], round * 10_000 + 2);
      const out = withF2 ? m.submit("f2", "f2", round, [2, 2], round * 10_000 + 3) : m.tick(round * 10_000 + 5000);
      round++;
      return clearOf(out);
    };
    expect(playRound(false)?.evicted).toEqual([false, false, false]);
    expect(playRound(false)?.evicted).toEqual([false, true, false]);
    // evicted: the tier does not wait for it and its submission is UNKNOWN_FIRM
    m.startRound(round, round * 10_000);
    m.submit("leader", "leader", round, [10, 10], round * 10_000 + 1);
    expect(rejects(m.submit("f2", "f2", round, [2, 2], round * 10_000 + 2))).toEqual([RejectCode.UNKNOWN_FIRM]);
    const c = clearOf(m.submit("f1", "f1", round, [1, 1], round * 10_000 + 3));
    expect(c?.absent).toEqual([false, true, false]);
    round++;
    expect(m.register("f2", 1, "follower")).toBeNull();
    expect(playRound(true)?.absent).toEqual([false, false, false]);
  });

  it("round machine - registration checks tier and membership; options are validated", () => {
    const m = new RoundMachine(cfg);
    expect(m.register("nobody", 0, "leader")?.code).toBe(RejectCode.NOT_IN_RUN);
    expect(m.register("f1", 0, "follower")?.code).toBe(RejectCode.NOT_IN_RUN);
    // The right tier with the wrong role (a follower claiming to lead), or no role at all.
    expect(m.register("f1", 1, "leader")?.code).toBe(RejectCode.NOT_IN_RUN);
    expect(m.register("f1", 1, "leader")?.detail).toMatch(/role leader .* follower/);
    expect(m.register("f1", 1, "unspecified")?.code).toBe(RejectCode.NOT_IN_RUN);
    expect(m.register("f1", 1, "follower")).toBeNull();
    expect(m.register("f1", 1, "follower")).toBeNull();
    expect(m.allRegistered()).toBe(false);
    expect(() => new RoundMachine({ ...cfg, batch: 0 })).toThrow("market.batch must be a positive integer");
    expect(() => new RoundMachine({ ...cfg, firms: [cfg.firms[2]!, cfg.firms[0]!] })).toThrow("sorted");
  });

  it("round machine - the last-quantity default plays 0 at an episode start", () => {
    const m = ready("last");
    m.startRound(0, 0, true);
    m.submit("leader", "leader", 0, [10, 20], 1);
    m.submit("f1", "f1", 0, [1, 2], 2);
    m.submit("f2", "f2", 0, [3, 4], 3);
    m.startRound(1, 100, true);
    m.submit("leader", "leader", 1, [10, 20], 101);
    m.submit("f1", "f1", 1, [1, 2], 102);
    const c = clearOf(m.tick(5000));
    expect(Array.from(c?.quantities ?? []).slice(2, 4)).toEqual([0, 0]);
  });

  it("round machine - a follower that submits after the leaders' deadline but before its tier opened is OUT_OF_ORDER", () => {
    const m = ready();
    m.startRound(0, 0);
    const out = m.submit("f1", "f1", 0, [1, 1], 2000);
    expect(out.some((d) => d.kind === "open-tier" && d.tier === 1)).toBe(true);
    expect(rejects(out)).toEqual([RejectCode.OUT_OF_ORDER]);
    expect(rejects(m.submit("f1", "f1", 0, [1, 1], 2001))).toEqual([]);
  });

  it("round machine - with every firm evicted, rounds still wait for their deadlines", () => {
    const m = new RoundMachine({ ...cfg, maxMisses: 1 });
    for (const f of cfg.firms) m.register(f.id, f.tier, roleOfTier(f.tier));
    m.startRound(0, 0);
    expect(clearOf(m.tick(1000))).toBeUndefined(); // tier 0 closes, tier 1 opens
    expect(clearOf(m.tick(2000))?.evicted).toEqual([true, true, true]);
    const next = m.startRound(1, 2000);
    expect(clearOf(next)).toBeUndefined();
    expect(clearOf(m.tick(2500))).toBeUndefined();
    expect(clearOf(m.tick(3000))).toBeUndefined();
    expect(clearOf(m.tick(4000))?.absent).toEqual([true, true, true]);
  });
});
