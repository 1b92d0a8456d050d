/**
 * Seedable random numbers. Every random stream in a run is named and derived from the run seed
 * (`Rng.fromName(runSeed, "market-shocks")`), so the same config and seed give the same run on
 * every platform: the generator uses only 32-bit integer arithmetic (Math.imul, shifts), and the
 * normal draw uses only log and sqrt, never trigonometry.
 */

import { EconomicsConfigError, messages } from "./errors.js";

const TWO_POW_32 = 4294967296;

/** A serializable snapshot of an Rng, for resuming a stream exactly where it stopped. */
export interface RngState {
  /** The four 32-bit words of the sfc32 state. */
  words: [number, number, number, number];
  /** The second normal of the last polar-method pair, if not yet used. */
  spare: number | null;
}

/** Folds a safe integer (possibly negative or above 2^32) into 32 bits without discarding its high part. */
function fold32(seed: number, path: string): number {
  if (!Number.isSafeInteger(seed)) {
    throw new EconomicsConfigError(`${path} must be a safe integer (got ${String(seed)})`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

/** cyrb53's mixing over UTF-16 code units, reduced to 32 bits. */
function hashString(str: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ Math.imul(h2, 0x85ebca6b)) >>> 0;
}

/**
 * The seed of the stream called `name` in the run seeded `runSeed`: a deterministic 32-bit hash
 * (cyrb53 mixing) of both. Different names give unrelated streams.
 */
export function deriveSeed(runSeed: number, name: string): number {
  return hashString(name, fold32(runSeed, "runSeed"));
}

/**
 * sfc32 (Chris Doty-Humphrey's small fast chaotic generator), 128-bit state, seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private hasSpare = false;
  private spare = 0;

  /** @param seed a safe integer (folded to 32 bits) or a string (hashed). */
  constructor(seed: number | string) {
    let s = typeof seed === "string" ? hashString(seed, 0) : fold32(seed, "seed");
    const words = [0, 0, 0, 0];
    for (let k = 0; k < 4; k++) {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      words[k] = (z ^ (z >>> 16)) | 0;
    }
    this.a = words[0]!;
    this.b = words[1]!;
    this.c = words[2]!;
    this.d = words[3]!;
    // Discard the first outputs: sfc32's state needs a few rounds to mix.
    for (let k = 0; k < 12; k++) this.nextUint32();
  }

  /** The generator for stream `name` of the run seeded `runSeed`. */
  static fromName(runSeed: number, name: string): Rng {
    return new Rng(deriveSeed(runSeed, name));
  }

  /** Rebuilds a generator from a snapshot taken with `snapshot()`. */
  static restore(state: RngState): Rng {
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state.words.map((w) => w | 0) as [number, number, number, number];
    r.hasSpare = state.spare !== null;
    r.spare = state.spare ?? 0;
    return r;
  }

  /** The full state, to resume this stream later with `Rng.restore`. */
  snapshot(): RngState {
    return { words: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spare: this.hasSpare ? this.spare : null };
  }

  /** An independent copy that continues with the same sequence. */
  clone(): Rng {
    return Rng.restore(this.snapshot());
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), resolution 2^-32. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Standard normal (Marsaglia's polar method; the pair's second value is kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in 0..n-1; n must be a positive integer <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new EconomicsConfigError(messages.notPositiveInteger("n", n));
    return Math.floor(this.next() * n);
  }
}
