/**
 * Hands out per-round items once each and in round order, whatever order they arrive in: stats
 * restated by a resumed market reach a follower after later rounds, and a round already handed out
 * may arrive again.
 */
export class RoundOrder<T> {
  private readonly pending = new Map<number, T>();
  private next = 0;

  /** The next round to be handed out (= how many rounds were handed out). */
  get nextRound(): number {
    return this.next;
  }

  /** Rounds that arrived ahead of a missing one. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Adds one round's item; returns the items now ready, in round order (often none or one). */
  push(round: number, item: T): T[] {
    if (round >= this.next) this.pending.set(round, item);
    const ready: T[] = [];
    for (let x = this.pending.get(this.next); x !== undefined; x = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      ready.push(x);
      this.next++;
    }
    return ready;
  }
}
