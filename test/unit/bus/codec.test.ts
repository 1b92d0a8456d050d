import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, encodeRecordFromOutcomes } from "../../../services/bus/index.js";
import { runSubjects } from "../../../services/bus/subjects.js";

describe("codec", () => {
  it("codec - packed doubles round-trip bit for bit, typed arrays included", () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 64 }), (q) => {
        const bytes = encode.submission({ runId: "r", firmId: "f", round: 3, quantities: Float64Array.from(q) as unknown as number[] });
        const back = decode.submission(bytes);
        expect(back.quantities?.length ?? 0).toBe(q.length);
        q.forEach((v, i) => expect(Object.is(back.quantities?.[i], v) || (Number.isNaN(v) && Number.isNaN(back.quantities?.[i]))).toBe(true));
        expect(Number(back.round)).toBe(3);
      }),
    );
  });

  it("codec - a record built from encoded outcomes decodes to the same outcomes", () => {
    const outcomes = [0, 1, 2].map((r) => encode.outcome({ runId: "r", round: r, batch: 2, prices: [r, r + 0.5], firmIds: ["a"], quantities: [1, 2], absent: [r === 1] }));
    const rec = decode.record(encodeRecordFromOutcomes(outcomes));
    expect(rec.outcomes?.map((o) => Number(o.round))).toEqual([0, 1, 2]);
    expect(rec.outcomes?.[1]?.absent).toEqual([true]);
    expect(rec.outcomes?.[2]?.prices).toEqual([2, 2.5]);
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
