import { describe, expect, it } from "vitest";
import { RoundOrder } from "../../../services/report/round-order.js";

describe("round order", () => {
  it("round order - hands rounds out once each and in order, whatever the arrival order", () => {
    const o = new RoundOrder<string>();
    expect(o.push(0, "a")).toEqual(["a"]);
    expect(o.push(2, "c")).toEqual([]);
    expect(o.push(3, "d")).toEqual([]);
    expect(o.waiting).toBe(2);
    expect(o.push(0, "a again")).toEqual([]);
    expect(o.push(1, "b")).toEqual(["b", "c", "d"]);
    expect(o.nextRound).toBe(4);
    expect(o.waiting).toBe(0);
    expect(o.push(2, "c again")).toEqual([]);
  });
});
