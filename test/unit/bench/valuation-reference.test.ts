/**
 * The study scripts (bench/valuation-reference.ts, bench/study-table.ts) without runs: the discount
 * variants of an experiment are valid and differ only in objective and discount, the references they
 * solve are the run summary's (the documented path of valuation-learning-by-doing.yaml at 0.95), and
 * the table's distances to the stage-game concepts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { maxRelDistance, totalDistance } from "../../../bench/study-table.js";
import { discountedFirms, solveDiscounts, withDiscount } from "../../../bench/valuation-reference.js";
import { parseExperiment } from "../../../services/config/load.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const load = (name: string) => parse(readFileSync(join(ROOT, "experiments", name), "utf8")) as Record<string, unknown>;

describe("valuation study scripts", () => {
  test("valuation study - d = 0 is objective profit, d > 0 valuation with that discount; nothing else changes", () => {
    const raw = load("valuation-stackelberg-learning-by-doing.yaml");
    const ids = discountedFirms(raw);
    expect(ids.sort()).toEqual(["follower", "leader"]);
    const zero = parseExperiment(withDiscount(raw, ids, 0));
    for (const f of zero.firms) expect(f.objective).toBe("profit");
    const high = parseExperiment(withDiscount(raw, ids, 0.99));
    for (const f of high.firms) expect([f.objective, f.discount]).toEqual(["valuation", 0.99]);
    expect(high.market).toEqual(zero.market);
    expect(high.name).toBe("valuation-stackelberg-learning-by-doing-d0.99");
    // The input is not changed.
    expect((raw.firms as { discount: number }[])[0]?.discount).toBe(0.9);
  });

  test("valuation study - only the file's valuation firms get the discount; --firms must name firms", () => {
    const raw = load("valuation-learning-by-doing.yaml");
    expect(discountedFirms(raw)).toEqual(["forward"]);
    const exp = parseExperiment(withDiscount(raw, ["forward"], 0.5));
    expect(exp.firms.find((f) => f.id === "myopic")?.objective).toBe("profit");
    expect(() => discountedFirms(raw, ["nobody"])).toThrow(/no firm "nobody"/);
  });

  test("valuation study - the references are the summary's: the documented path at 0.95, the myopic path at 0", () => {
    const raw = load("valuation-learning-by-doing.yaml");
    const [d0, d95] = solveDiscounts(raw, ["forward"], [0, 0.95]);
    const fwd = d95?.reference.firms.find((f) => f.id === "forward");
    expect(d95?.reference.kind).toBe("open-loop-path");
    expect(fwd?.quantity[0]).toBeCloseTo(31.373, 3);
    expect(fwd?.value).toBeCloseTo(5701.9, 1);
    // Both firms myopic and identical: the same path for both.
    const [a, b] = d0?.reference.firms ?? [];
    expect(a?.quantity).toEqual(b?.quantity);
    expect(a?.quantity[0]).toBeCloseTo(20, 9);
  });

  test("study table - distances to a concept per firm, and to the collusive total", () => {
    const target = [
      { id: "leader", quantity: 45, profit: 0 },
      { id: "follower", quantity: 22.5, profit: 0 },
    ];
    expect(maxRelDistance({ leader: 45, follower: 22.5 }, target)).toBe(0);
    expect(maxRelDistance({ leader: 45.9, follower: 22.5 }, target)).toBeCloseTo(0.02, 12);
    expect(maxRelDistance({ leader: 45, follower: 0 }, target)).toBe(1);
    const coll = {
      firms: [
        { id: "a", quantity: 45, profit: 0 },
        { id: "b", quantity: 0, profit: 0 },
      ],
      price: 55,
    };
    expect(totalDistance({ a: 22.5, b: 22.5 }, coll)).toBe(0);
    expect(totalDistance({ a: 30, b: 30 }, coll)).toBeCloseTo(1 / 3, 12);
  });
});
