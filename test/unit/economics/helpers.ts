/** Shared assertions for the economics tests. */

import { expect } from "vitest";

/** |actual - expected| <= rel * max(|expected|, floor): relative closeness with an absolute floor near zero. */
export function expectRel(actual: number, expected: number, rel = 1e-6, floor = 1): void {
  const err = Math.abs(actual - expected);
  const bound = rel * Math.max(Math.abs(expected), floor);
  if (!(err <= bound)) {
    expect.fail(`expected ${actual} to be within ${rel} (relative) of ${expected}; error ${err} > ${bound}`);
  }
}

/** Element-wise expectRel with a common scale (e.g. the total quantity). */
export function expectAllRel(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-6, scale = 1): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expectRel(actual[i]!, expected[i]!, rel, scale);
}

/** Composite Simpson integral of f over [a, b] with n (even) panels. */
export function simpson(f: (x: number) => number, a: number, b: number, n = 2000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let k = 1; k < n; k++) s += (k % 2 === 1 ? 4 : 2) * f(a + k * h);
  return (s * h) / 3;
}
