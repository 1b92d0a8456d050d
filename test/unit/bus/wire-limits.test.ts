import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { Writable } from "node:stream";
import { clip, clipList, detail, WIRE_LIMITS } from "../../../services/bus/index.js";
import { Budget } from "../../../market/service/budget.js";
import { RateLimitedLog } from "../../../services/log.js";

describe("wire limits", () => {
  it("wire limits - strings off the wire are clipped and control characters escaped", () => {
    expect(clip("abc")).toBe("abc");
    const long = clip("x".repeat(1_000_000));
    expect(long.length).toBeLessThan(WIRE_LIMITS.idChars + 40);
    expect(long).toMatch(/\.\.\.\(999936 more chars\)$/);
    expect(clip("a\nb\u001b[2J")).toBe("a\\x0ab\\x1b[2J");
    expect(detail.idMismatch("f", "y".repeat(100_000)).length).toBeLessThan(250);
    expect(detail.malformed("f", "z".repeat(100_000)).length).toBeLessThan(WIRE_LIMITS.detailChars + 100);
  });

  it("wire limits - capability lists are cut to a bounded number of clipped items", () => {
    const l = clipList(["ctde", "q".repeat(10_000), ...new Array(1000).fill("c")]);
    expect(l).toHaveLength(WIRE_LIMITS.capabilities + 1);
    expect(l[0]).toBe("ctde");
    expect(l[l.length - 1]).toBe("...(986 more)");
    expect(l.join("").length).toBeLessThan(2000);
  });

  it("wire limits - repeated events are logged at a bounded rate with the count suppressed, and keys are capped", () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }));
    let t = 0;
    const limited = new RateLimitedLog(log, 1000, 3, () => t);
    for (let i = 0; i < 10_000; i++) limited.warn("f1", { i }, "rejected");
    expect(lines).toHaveLength(1);
    t = 1500;
    limited.warn("f1", { i: -1 }, "rejected");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ suppressed: 9999, sinceMs: 1500 });
    // Ids chosen by an attacker cannot grow the table without bound: beyond 3 keys they share one.
    for (let k = 0; k < 1000; k++) limited.warn(`id${k}`, {}, "rejected");
    expect(lines.length).toBeLessThanOrEqual(2 + 3);
    // What was held back is reported when the run ends, not lost.
    const before = lines.length;
    limited.flush("suppressed");
    const flushed = lines.slice(before).map((l) => JSON.parse(l) as { suppressed: number });
    expect(flushed.reduce((n, l) => n + l.suppressed, 0)).toBe(1000 - (before - 2));
  });

  it("wire limits - a per-firm budget lets a firm's normal pace through and cuts a flood, per firm", () => {
    let t = 0; // seconds
    const b = new Budget(100, 10, 2, () => t);
    // A burst of 10, then one message per 10 ms.
    expect(Array.from({ length: 15 }, () => b.take("f1")).filter(Boolean)).toHaveLength(10);
    expect(b.take("f2")).toBe(true); // another firm's budget is its own
    t += 0.01;
    expect(b.take("f1")).toBe(true);
    expect(b.take("f1")).toBe(false);
    // A flood of 100,000 in one second gets through at the budget's rate only.
    let passed = 0;
    for (let i = 0; i < 100_000; i++) {
      t += 0.00001;
      if (b.take("f1")) passed++;
    }
    expect(passed).toBeLessThanOrEqual(101);
    expect(b.dropped).toBeGreaterThan(99_000);
    // Ids beyond the cap share one budget, so made-up ids cannot mint fresh bursts.
    const fresh = Array.from({ length: 1000 }, (_, k) => b.take(`made-up-${k}`)).filter(Boolean).length;
    expect(fresh).toBeLessThanOrEqual(10);
  });

  it("wire limits - a budget per round opened: a firm answering every round is never cut, however fast rounds go", () => {
    let round = 0;
    const b = new Budget(8, 64, 1024, () => round);
    for (; round < 100_000; round++) expect(b.take("f1")).toBe(true); // one submission a round
    // A firm sending 1,000 messages in one round gets its saved-up burst through, no more.
    const through = Array.from({ length: 1000 }, () => b.take("f1")).filter(Boolean).length;
    expect(through).toBeLessThanOrEqual(64);
    round++;
    expect(b.take("f1")).toBe(true); // the next round brings new allowance
  });
});
