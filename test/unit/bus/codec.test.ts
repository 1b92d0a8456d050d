import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, statsOf } from "../../../services/bus/index.js";
import { runSubjects } from "../../../services/bus/subjects.js";

describe("codec", () => {
  it("codec - packed doubles round-trip bit for bit, typed arrays included", () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 64 }), (q) => {
        const bytes = encode.submission({
          runId: "r",
          firmId: "f",
          round: 3,
          quantities: Float64Array.from(q) as unknown as number[],
        });
        const back = decode.submission(bytes);
        expect(back.quantities?.length ?? 0).toBe(q.length);
        q.forEach((v, i) =>
          expect(Object.is(back.quantities?.[i], v) || (Number.isNaN(v) && Number.isNaN(back.quantities?.[i]))).toBe(true),
        );
        expect(Number(back.round)).toBe(3);
      }),
    );
  });

  it("codec - statsOf gives the batch means of an outcome, per firm in firm order", () => {
    const o = decode.outcome(
      encode.outcome({
        runId: "r",
        round: 7,
        episode: 2,
        step: 1,
        batch: 3,
        prices: [1, 2, 6],
        firmIds: ["a", "b"],
        quantities: [1, 2, 3, 10, 20, 60],
        profits: [0.1, 0.2, 0.3, -1, -2, -3],
        absent: [false, true],
      }),
    );
    const st = statsOf(o);
    expect([st.round, st.episode, st.step]).toEqual([7, 2, 1]);
    expect(st.priceMean).toBe(3);
    expect(st.quantityMeans).toEqual([2, 30]);
    expect(st.profitMeans).toEqual([(0.1 + 0.2 + 0.3) / 3, -2]);
    expect(st.absent).toEqual([false, true]);
    // It survives its own wire format bit for bit.
    const back = decode.stats(encode.stats({ rounds: [st] })).rounds?.[0];
    expect(back?.profitMeans).toEqual(st.profitMeans);
  });

  it("codec - bytes that are not a message throw", () => {
    expect(() => decode.submission(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x01]))).toThrow();
  });

  it("subjects - names are namespaced by run and ids must be single tokens", () => {
    const s = runSubjects("run-1");
    expect(s.submit("leader")).toBe("stk.run-1.submit.leader");
    expect(s.firmOf("stk.run-1.submit.leader")).toBe("leader");
    expect(s.firmOf("stk.other.submit.leader")).toBeUndefined();
    expect(() => s.submit("a.b")).toThrow(/firm id/);
    expect(() => runSubjects("x y")).toThrow(/run id/);
  });
});
