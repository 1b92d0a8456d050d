import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketX, Downsampler } from "../../../services/report/downsample.js";

describe("downsample", () => {
  it("downsample - short series are kept point by point", () => {
    const d = new Downsampler(1, 8);
    for (let i = 0; i < 5; i++) d.push(i, [i * 10]);
    const b = d.buckets();
    expect(b.map((x) => x.mean[0])).toEqual([0, 10, 20, 30, 40]);
    expect(b.map(bucketX)).toEqual([0, 1, 2, 3, 4]);
  });

  it("downsample - buckets stay within capacity, cover every row once, in order, with exact means, minima and maxima", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }).map((k) => 2 * k),
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 0, maxLength: 600 }),
        (capacity, values) => {
          const d = new Downsampler(2, capacity);
          values.forEach((v, i) => d.push(i, [v, -v]));
          const b = d.buckets();
          expect(d.count).toBe(values.length);
          expect(b.length).toBeLessThanOrEqual(capacity);
          if (values.length >= capacity) expect(b.length).toBeGreaterThanOrEqual(capacity / 2);
          let next = 0;
          for (const x of b) {
            expect(x.first).toBe(next);
            expect(x.last).toBe(next + x.n - 1);
            const slice = values.slice(x.first, x.last + 1);
            const mean = slice.reduce((a, c) => a + c, 0) / slice.length;
            expect(x.mean[0]).toBeCloseTo(mean, 6);
            expect(x.mean[1]).toBeCloseTo(-mean, 6);
            expect(x.min[0]).toBe(Math.min(...slice));
            expect(x.max[0]).toBe(Math.max(...slice));
            next = x.last + 1;
          }
          expect(next).toBe(values.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("downsample - a million rows keep at most `capacity` buckets of equal width (memory is flat)", () => {
    const d = new Downsampler(1, 1000);
    for (let i = 0; i < 1_000_000; i++) d.push(i, [i % 7]);
    const b = d.buckets();
    expect(b.length).toBeLessThanOrEqual(1000);
    expect(b.length).toBeGreaterThanOrEqual(500);
    // Every full bucket has the same width, a power of two.
    const widths = new Set(b.slice(0, -1).map((x) => x.n));
    expect(widths.size).toBe(1);
    const w = [...widths][0]!;
    expect(Math.log2(w) % 1).toBe(0);
    expect(b.reduce((a, x) => a + x.n, 0)).toBe(1_000_000);
  });

  it("downsample - missing values (NaN) are left out of a bucket's figures; a bucket with none is NaN", () => {
    const d = new Downsampler(2, 4);
    d.push(0, [1, Number.NaN]);
    d.push(1, [3, Number.NaN]);
    d.push(2, [Number.NaN, 5]);
    d.push(3, [Number.POSITIVE_INFINITY, 7]);
    const b = d.buckets();
    expect(b).toHaveLength(2);
    expect(b[0]!.mean).toEqual([2, Number.NaN]);
    expect(b[0]!.min[1]).toBeNaN();
    expect(b[1]!.mean).toEqual([Number.NaN, 6]);
    expect(b[1]!.max).toEqual([Number.NaN, 7]);
  });

  it("downsample - bad construction and bad rows are programmer errors", () => {
    expect(() => new Downsampler(1, 3)).toThrow(/capacity must be an even integer/);
    expect(() => new Downsampler(-1)).toThrow(/series must be/);
    expect(() => new Downsampler(2).push(0, [1])).toThrow(/expected 2 values/);
  });
});
