/** One-dimensional root bracketing for the solvers. Internal to market/economics. */

const EPS = Number.EPSILON;
/** Absolute tolerance floor, so that roots at 0 terminate. */
const TINY = 1e-300;

/** The end state of `brent`: best estimate `x` and the other end of the final bracket. */
export interface RootBracket {
  x: number;
  fx: number;
  other: number;
  fother: number;
}

/**
 * Brent's method (zeroin) on [a, b] with f(a), f(b) of opposite signs (or one zero). Keeps a
 * bracket at every step, so on a function with a jump it converges to the jump; the caller
 * tells a jump from a root by |fx|. Non-finite values force bisection steps.
 *
 * @param relTol relative width of the final bracket (machine precision is the floor).
 */
export function brent(
  f: (x: number) => number,
  a: number,
  b: number,
  fa: number,
  fb: number,
  relTol: number,
  maxIter = 400,
): RootBracket {
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iter = 0; iter < maxIter; iter++) {
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol1 = 2 * EPS * Math.abs(b) + 0.5 * relTol * Math.abs(b) + TINY;
    const xm = 0.5 * (c - b);
    if (Math.abs(xm) <= tol1 || fb === 0) return { x: b, fx: fb, other: c, fother: fc };
    if (Math.abs(e) >= tol1 && Math.abs(fa) > Math.abs(fb) && Number.isFinite(fa) && Number.isFinite(fc)) {
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        p = 2 * xm * s;
        q = 1 - s;
      } else {
        const qq = fa / fc;
        const r = fb / fc;
        p = s * (2 * xm * qq * (qq - r) - (b - a) * (r - 1));
        q = (qq - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * xm * q - Math.abs(tol1 * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = xm;
        e = d;
      }
    } else {
      d = xm;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol1 ? d : xm > 0 ? tol1 : -tol1;
    fb = f(b);
  }
  return { x: b, fx: fb, other: c, fother: fc };
}

/** Golden-section maximization of a unimodal f on [lo, hi]; returns the argmax (about sqrt(eps) relative). */
export function goldenMax(f: (x: number) => number, lo: number, hi: number, iterations = 200): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let k = 0; k < iterations && b - a > 4 * EPS * Math.abs(b) + TINY; k++) {
    if (f1 < f2) {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = f(x2);
    } else {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = f(x1);
    }
  }
  return f1 < f2 ? x2 : x1;
}
