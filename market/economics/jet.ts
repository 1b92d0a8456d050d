/**
 * Truncated Taylor series ("jets") in one variable: `j[k]` is f^(k)(x0) / k!. The equilibrium
 * solver propagates these through the nested tier problems to get exact derivatives of reaction
 * functions (implicit differentiation), instead of finite differences whose noise compounds
 * with every tier. Internal to market/economics.
 */

/** A jet of order n holding the constant `v`. */
export function jconst(v: number, n: number): Float64Array {
  const j = new Float64Array(n + 1);
  j[0] = v;
  return j;
}

/** a + b (order of `a`). */
export function jadd(a: Float64Array, b: Float64Array): Float64Array {
  const r = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) r[k] = a[k]! + b[k]!;
  return r;
}

/** a - b. */
export function jsub(a: Float64Array, b: Float64Array): Float64Array {
  const r = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) r[k] = a[k]! - b[k]!;
  return r;
}

/** a * b, truncated. */
export function jmul(a: Float64Array, b: Float64Array): Float64Array {
  const n = a.length;
  const r = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i <= k; i++) s += a[i]! * b[k - i]!;
    r[k] = s;
  }
  return r;
}

/** a / b, truncated; b[0] must be non-zero. */
export function jdiv(a: Float64Array, b: Float64Array): Float64Array {
  const n = a.length;
  const r = new Float64Array(n);
  const b0 = b[0]!;
  for (let k = 0; k < n; k++) {
    let s = a[k]!;
    for (let i = 1; i <= k; i++) s -= b[i]! * r[k - i]!;
    r[k] = s / b0;
  }
  return r;
}

/** Taylor coefficients of f' from those of f (one order fewer). */
export function jderiv(f: Float64Array): Float64Array {
  const r = new Float64Array(Math.max(0, f.length - 1));
  for (let k = 0; k < r.length; k++) r[k] = (k + 1) * f[k + 1]!;
  return r;
}

/**
 * f(x0 + delta) as a jet of order n, from f's Taylor coefficients at x0 (`f`, length >= n + 1)
 * and a jet `delta` with zero constant term (Horner's scheme in jet arithmetic).
 */
export function jcompose(f: Float64Array, delta: Float64Array, n: number): Float64Array {
  let r = jconst(f[n]!, n);
  const d = delta.length === n + 1 ? delta : delta.subarray(0, n + 1);
  for (let k = n - 1; k >= 0; k--) {
    r = jmul(r, d);
    r[0] = r[0]! + f[k]!;
  }
  return r;
}
