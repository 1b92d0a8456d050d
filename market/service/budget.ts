/**
 * Per-firm message budgets (token buckets): how many messages of one kind the market takes from
 * one firm per unit of a clock (seconds, or rounds opened: the caller's choice). A firm may flood its own subjects; what is over budget is dropped before it
 * is decoded or answered, so a flood costs the market little and never amplifies into rejects or
 * replies. Firm ids come off the wire (subject tokens), so the number of buckets is capped; beyond
 * the cap all other ids share one.
 */
export class Budget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Messages dropped so far, over all keys. */
  dropped = 0;

  /**
   * @param perUnit tokens added per unit of `now()`
   * @param burst most tokens a key can hold
   * @param now the clock (default: seconds)
   */
  constructor(
    private readonly perUnit: number,
    private readonly burst: number,
    private readonly maxKeys = 1024,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    if (!(perUnit > 0) || !(burst >= 1)) throw new TypeError("Budget needs perUnit > 0 and burst >= 1");
  }

  /** True when `key` may send one more message now (and takes it from its budget). */
  take(key: string): boolean {
    const k = this.buckets.has(key) || this.buckets.size < this.maxKeys ? key : "(other keys)";
    const t = this.now();
    let b = this.buckets.get(k);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(k, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (t - b.at) * this.perUnit);
    b.at = t;
    if (b.tokens < 1) {
      this.dropped++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }
}
