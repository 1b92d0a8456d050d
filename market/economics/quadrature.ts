/** Gauss-Hermite quadrature for expectations over a normal distribution. Internal to market/economics. */

const PI_M4 = Math.PI ** -0.25;

/**
 * Nodes and weights of n-point Gauss-Hermite quadrature (weight exp(-x^2) on the real line; the
 * weights sum to sqrt(pi)), by Newton's method on the orthonormal Hermite recurrence.
 */
export function gaussHermite(n: number): { x: Float64Array; w: Float64Array } {
  if (!Number.isSafeInteger(n) || n < 1 || n > 200)
    throw new RangeError(`gaussHermite: n must be an integer in 1..200 (got ${n})`);
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  const m = (n + 1) >> 1;
  let z = 0;
  for (let i = 0; i < m; i++) {
    // Starting guesses for the largest roots first (Numerical Recipes, gauher).
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * (2 * n + 1) ** -0.16667;
    else if (i === 1) z -= (1.14 * n ** 0.426) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * x[0]!;
    else if (i === 3) z = 1.91 * z - 0.91 * x[1]!;
    else z = 2 * z - x[i - 2]!;
    let pp = 1;
    for (let it = 0; it < 100; it++) {
      let p1 = PI_M4;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const step = p1 / pp;
      z -= step;
      if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(z))) break;
    }
    x[i] = z;
    x[n - 1 - i] = -z;
    w[i] = 2 / (pp * pp);
    w[n - 1 - i] = w[i]!;
  }
  return { x, w };
}

/** E[f(S)] for S ~ N(0, variance), by n-point Gauss-Hermite quadrature (exact for polynomials of degree < 2n). */
export function normalExpectation(f: (s: number) => number, variance: number, n = 32): number {
  if (!(variance > 0)) return f(0);
  const { x, w } = gaussHermite(n);
  const scale = Math.sqrt(2 * variance);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[i]! * f(scale * x[i]!);
  return sum / Math.sqrt(Math.PI);
}
