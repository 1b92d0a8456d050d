/**
 * Downsampling of long per-round series in bounded memory, one pass, length not known in advance:
 * rounds are summed into buckets of w consecutive rows; when the buckets fill the capacity, each
 * pair of neighbours is merged and w doubles. Whatever the run's length, at most `capacity` buckets
 * are kept (between capacity/2 and capacity once the run is longer than the capacity), each with
 * the mean, minimum and maximum of every series over its rounds, so a chart shows the trend (mean)
 * and the spread (min-max band) of every stretch of the run, spikes included.
 */

/** One bucket: consecutive rows [first, last] of the x column, and per series sum, min, max. */
export interface Bucket {
  /** x of the bucket's first and last row. */
  first: number;
  last: number;
  /** Rows in the bucket. */
  n: number;
  /** Per series: mean over the bucket's rows where the value was finite (NaN when none was). */
  mean: number[];
  min: number[];
  max: number[];
}

export class Downsampler {
  /** Rows per full bucket now (doubles as the run gets longer). */
  private width = 1;
  private readonly done: Acc[] = [];
  private open: Acc | undefined;
  private rows = 0;

  /**
   * @param series number of values per row
   * @param capacity most buckets kept (even, >= 2); the output has at most this many points
   */
  constructor(
    readonly series: number,
    readonly capacity = 1000,
  ) {
    if (!Number.isInteger(series) || series < 0) throw new RangeError(`series must be a non-negative integer (got ${series})`);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity % 2 !== 0)
      throw new RangeError(`capacity must be an even integer >= 2 (got ${capacity})`);
  }

  /** Rows pushed so far. */
  get count(): number {
    return this.rows;
  }

  /** Adds one row: its x (the round) and one value per series (NaN for a missing one). */
  push(x: number, values: ArrayLike<number>): void {
    if (values.length !== this.series) throw new RangeError(`expected ${this.series} values, got ${values.length}`);
    this.rows++;
    let b = this.open;
    if (b === undefined) b = this.open = newAcc(x, this.series);
    b.last = x;
    b.n++;
    for (let s = 0; s < this.series; s++) {
      const v = values[s] as number;
      if (!Number.isFinite(v)) continue;
      b.sum[s] += v;
      b.finite[s]++;
      if (v < b.min[s]) b.min[s] = v;
      if (v > b.max[s]) b.max[s] = v;
    }
    if (b.n < this.width) return;
    this.done.push(b);
    this.open = undefined;
    if (this.done.length < this.capacity) return;
    // Full: merge neighbours pairwise; every bucket now covers twice the rows.
    for (let i = 0; i < this.capacity / 2; i++) this.done[i] = merge(this.done[2 * i]!, this.done[2 * i + 1]!);
    this.done.length = this.capacity / 2;
    this.width *= 2;
  }

  /** The buckets so far, in order (the last one may be partly filled). */
  buckets(): Bucket[] {
    const all = this.open ? [...this.done, this.open] : this.done;
    return all.map((a) => ({
      first: a.first,
      last: a.last,
      n: a.n,
      mean: a.sum.map((s, k) => (a.finite[k]! > 0 ? s / a.finite[k]! : Number.NaN)),
      min: a.min.map((v, k) => (a.finite[k]! > 0 ? v : Number.NaN)),
      max: a.max.map((v, k) => (a.finite[k]! > 0 ? v : Number.NaN)),
    }));
  }
}

interface Acc {
  first: number;
  last: number;
  n: number;
  sum: number[];
  finite: number[];
  min: number[];
  max: number[];
}

function newAcc(x: number, series: number): Acc {
  return {
    first: x,
    last: x,
    n: 0,
    sum: new Array<number>(series).fill(0),
    finite: new Array<number>(series).fill(0),
    min: new Array<number>(series).fill(Number.POSITIVE_INFINITY),
    max: new Array<number>(series).fill(Number.NEGATIVE_INFINITY),
  };
}

function merge(a: Acc, b: Acc): Acc {
  return {
    first: a.first,
    last: b.last,
    n: a.n + b.n,
    sum: a.sum.map((v, k) => v + b.sum[k]!),
    finite: a.finite.map((v, k) => v + b.finite[k]!),
    min: a.min.map((v, k) => Math.min(v, b.min[k]!)),
    max: a.max.map((v, k) => Math.max(v, b.max[k]!)),
  };
}

/** The x a bucket is drawn at: the middle of its rows. */
export function bucketX(b: Bucket): number {
  return (b.first + b.last) / 2;
}
