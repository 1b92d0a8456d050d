/**
 * Centralized training, decentralized execution: what a centralized critic (MAPPO, MADDPG) takes
 * from the market's training subject. The actors never see any of it; in an evaluation run the
 * market publishes none of it.
 */
import type { RunView, TrainingView } from "../policy.js";

/**
 * Indices (in run.firms, the wire order) of the firms whose same-round quantities a centralized
 * critic takes as inputs: every other firm of this firm's tier and of earlier tiers. Later tiers
 * are left out: they see this firm's quantity before they move, so a critic that took them as
 * inputs would value this firm's quantity with its followers' reply held fixed (a Cournot
 * gradient), and with the followers frozen its inputs would be a function of its own action. Firms
 * of its own and earlier tiers move before or with it, independently of its action: a baseline
 * conditioned on them stays unbiased and loses their share of the reward's variance.
 */
export function criticPeers(run: RunView): number[] {
  const me = run.firms.findIndex((f) => f.id === run.firmId);
  return run.firms.flatMap((f, k) => (k !== me && f.tier <= run.tier ? [k] : []));
}

/**
 * Writes the peers' quantities of instance `i` from a round's training information, each
 * normalized to [-1, 1] by quantityMax, into `out` from `offset`.
 */
export function writePeerInputs(info: TrainingView, peers: readonly number[], B: number, i: number, quantityMax: number, out: Float32Array, offset: number): void {
  let k = offset;
  for (const f of peers) out[k++] = (2 * (info.quantities[f * B + i] as number)) / quantityMax - 1;
}

/**
 * A round's experience waiting for its training information: the outcome (the reward) arrives
 * first, then the market's TrainingInfo of the same round (published after it on the same
 * connection; the firm runtime hands over only the one of the round it last observed). A round
 * whose information never comes (lost in a reconnect gap) is dropped at the next act or phase end
 * and counted; the first such loss is logged.
 */
export class TrainingJoin<T> {
  private waiting: { round: number; payload: T } | undefined;
  /** Rounds dropped because their training information never came. */
  missing = 0;

  constructor(private readonly warn?: (missing: number) => void) {}

  /** Holds `payload` of `round` until its training information arrives. */
  expect(round: number, payload: T): void {
    if (this.waiting) this.dropped();
    this.waiting = { round, payload };
  }

  /** The payload waiting for `round`'s information, or undefined (none waiting, or another round). */
  complete(round: number): T | undefined {
    const w = this.waiting;
    if (w === undefined || w.round !== round) return undefined;
    this.waiting = undefined;
    return w.payload;
  }

  /** Drops a payload still waiting (its information never came); true when there was one. */
  dropStale(): boolean {
    if (!this.waiting) return false;
    this.waiting = undefined;
    this.dropped();
    return true;
  }

  private dropped(): void {
    this.missing++;
    if (this.missing === 1 || this.missing % 1000 === 0) this.warn?.(this.missing);
  }
}
