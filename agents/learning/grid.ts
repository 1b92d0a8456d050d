/** The quantity grid of the tabular learners (Q-learning, Hedge): evenly spaced points. */

import { ConfigError } from "../../services/errors.js";

export interface GridSpec {
  min: number;
  max?: number | undefined;
  steps: number;
}

export class QuantityGrid {
  readonly points: Float64Array;
  readonly min: number;
  readonly max: number;
  private readonly step: number;

  /** `max` defaults to quantityMax and is capped at it; `steps` points including both ends. */
  constructor(spec: GridSpec, quantityMax: number, path = "policy.grid") {
    const max = Math.min(spec.max ?? quantityMax, quantityMax);
    if (!Number.isInteger(spec.steps) || spec.steps < 1)
      throw new ConfigError(`${path}.steps must be a positive integer (got ${spec.steps})`);
    if (!(spec.min >= 0 && spec.min <= max)) throw new ConfigError(`${path}.min must be in [0, ${max}] (got ${spec.min})`);
    this.min = spec.min;
    this.max = spec.steps === 1 ? spec.min : max;
    this.step = spec.steps === 1 ? 1 : (this.max - this.min) / (spec.steps - 1);
    this.points = new Float64Array(spec.steps);
    for (let k = 0; k < spec.steps; k++) this.points[k] = spec.steps === 1 ? this.min : this.min + k * this.step;
  }

  get size(): number {
    return this.points.length;
  }

  /** Index of the grid point nearest to q. */
  nearest(q: number): number {
    if (!(this.step > 0) || !Number.isFinite(q)) return 0;
    const k = Math.round((q - this.min) / this.step);
    return Math.min(Math.max(k, 0), this.points.length - 1);
  }
}
