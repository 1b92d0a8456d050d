import type { ActContext, Policy, RunView } from "../policy.js";

/** A constant quantity, or a schedule indexed by round (the last entry repeats). */
export class FixedPolicy implements Policy {
  readonly kind = "fixed";
  private readonly out: Float64Array;

  constructor(
    private readonly run: RunView,
    private readonly spec: { quantity?: number | undefined; schedule?: number[] | undefined },
  ) {
    this.out = new Float64Array(run.batch);
    if (spec.quantity === undefined && (spec.schedule === undefined || spec.schedule.length === 0))
      throw new TypeError(`firms.${run.firmId}.policy needs quantity or schedule`);
  }

  act(ctx: ActContext): Float64Array {
    const s = this.spec.schedule;
    const q = s ? (s[Math.min(ctx.round, s.length - 1)] as number) : (this.spec.quantity as number);
    this.out.fill(Math.min(Math.max(q, 0), this.run.quantityMax));
    return this.out;
  }
}
