/**
 * A small multilayer perceptron on raw tfjs variables. Initialized from the run's seeded Rng (never
 * tfjs's own random ops), so a seed fixes every weight on every backend; weights travel between
 * threads as one flat Float32Array.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../market/economics/rng.js";

export interface MlpShape {
  inputs: number;
  hidden: readonly number[];
  outputs: number;
  /** Scale of the output layer's initial weights (small for policy heads). */
  outputScale?: number;
}

export class Mlp {
  readonly vars: tf.Variable[] = [];
  readonly size: number;
  private readonly dims: number[];

  constructor(
    readonly shape: MlpShape,
    seed: number,
    trainable = true,
  ) {
    this.dims = [shape.inputs, ...shape.hidden, shape.outputs];
    const rng = new Rng(seed);
    let size = 0;
    for (let l = 0; l + 1 < this.dims.length; l++) {
      const fanIn = this.dims[l] as number;
      const fanOut = this.dims[l + 1] as number;
      const last = l + 2 === this.dims.length;
      // Glorot uniform; the output layer is scaled down so a new policy starts near its middle.
      const limit = Math.sqrt(6 / (fanIn + fanOut)) * (last ? (shape.outputScale ?? 1) : 1);
      const w = new Float32Array(fanIn * fanOut);
      for (let k = 0; k < w.length; k++) w[k] = (2 * rng.next() - 1) * limit;
      // tidy disposes the initial values; the variables themselves survive it.
      this.vars.push(tf.tidy(() => tf.variable(tf.tensor2d(w, [fanIn, fanOut]), trainable)));
      this.vars.push(tf.tidy(() => tf.variable(tf.zeros([fanOut]), trainable)));
      size += w.length + fanOut;
    }
    this.size = size;
  }

  /** Forward pass: tanh hidden layers, linear output. Call inside tf.tidy. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h: tf.Tensor2D = x;
    const layers = this.vars.length / 2;
    for (let l = 0; l < layers; l++) {
      const w = this.vars[2 * l] as tf.Variable<tf.Rank.R2>;
      const b = this.vars[2 * l + 1] as tf.Variable<tf.Rank.R1>;
      h = tf.add(tf.matMul(h, w), b);
      if (l + 1 < layers) h = tf.tanh(h);
    }
    return h;
  }

  /** All weights, layer by layer (W then b), in one flat array. */
  getFlat(out?: Float32Array, offset = 0): Float32Array {
    const flat = out ?? new Float32Array(this.size);
    let o = offset;
    for (const v of this.vars) {
      const d = v.dataSync() as Float32Array;
      flat.set(d, o);
      o += d.length;
    }
    return flat;
  }

  /** Replaces every weight from a flat array laid out as getFlat writes it. */
  setFlat(flat: Float32Array, offset = 0): void {
    if (flat.length - offset < this.size)
      throw new RangeError(`weights: expected ${this.size} values, got ${flat.length - offset}`);
    let o = offset;
    for (const v of this.vars) {
      const n = v.size;
      const part = flat.subarray(o, o + n);
      tf.tidy(() => v.assign(tf.tensor(part, v.shape)));
      o += n;
    }
  }

  /** Copies weights from `src`: tau = 1 is a hard copy, tau < 1 Polyak averaging (target nets). */
  blendFrom(src: Mlp, tau: number): void {
    tf.tidy(() => {
      this.vars.forEach((v, k) => {
        const s = src.vars[k] as tf.Variable;
        v.assign(tau >= 1 ? s : tf.add(tf.mul(s, tau), tf.mul(v, 1 - tau)));
      });
    });
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}
