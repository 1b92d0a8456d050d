#!/usr/bin/env node
/**
 * The leaders' greedy quantities and the followers' learned reactions around them, read off a
 * finished run's checkpoints (PPO/MAPPO/DDPG/MADDPG firms of a two-tier market whose followers see
 * nothing but the committed total: one-round episodes, no shocks, no dynamics). Prints each
 * follower's learned quantity at the leaders' total L and at L +- 1, and the summed slope of the
 * followers' reactions there: where the leaders settle is set by that slope (docs/alternating.md).
 *
 *   npm run build && node scripts/reaction-slope.mjs RUN_DIR
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { readCheckpoint } from "../dist/agents/learning/checkpoint.js";
import { Mlp } from "../dist/agents/learning/mlp.js";
import { loadExperiment } from "../dist/services/config/index.js";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/reaction-slope.mjs RUN_DIR");
  process.exit(2);
}
const exp = loadExperiment(join(dir, "config.yaml"));
const qMax = exp.market.quantityMax;
if (exp.firms.some((f) => f.tier > 1)) {
  console.error("reaction-slope: two tiers only (leaders and followers)");
  process.exit(2);
}
const actor = {};
for (const f of exp.firms) {
  const cp = await readCheckpoint(join(dir, "checkpoints"), f.id);
  if (!cp?.meta?.spec) {
    console.error(`reaction-slope: no neural checkpoint for ${f.id}`);
    process.exit(1);
  }
  const s = cp.meta.spec;
  if (s.actorIn !== 1) {
    console.error(`reaction-slope: ${f.id} sees ${s.actorIn} inputs; this tool reads firms with one input (a follower's committed total, a leader's constant)`);
    process.exit(1);
  }
  const m = new Mlp({ inputs: s.actorIn, hidden: s.hidden, outputs: 1 }, 0, false);
  m.setFlat(cp.blobs.params);
  actor[f.id] = m;
}
/** Greedy quantity: a leader's from its (constant) input, a follower's at committed total L (features.ts's scaling). */
const greedy = (f, L) =>
  tf.tidy(() => {
    const m = actor[f.id];
    const x = new Float32Array(m.shape.inputs);
    if (f.tier > 0) x[0] = (2 * L) / qMax - 1;
    return (tf.sigmoid(m.apply(tf.tensor2d(x, [1, m.shape.inputs]))).dataSync()[0] ?? 0) * qMax;
  });
const leaders = exp.firms.filter((f) => f.tier === 0);
const followers = exp.firms.filter((f) => f.tier > 0);
const L = leaders.reduce((s, f) => s + greedy(f, 0), 0);
const out = {
  run: dir,
  leaders: Object.fromEntries(leaders.map((f) => [f.id, greedy(f, 0)])),
  leadersTotal: L,
  followers: Object.fromEntries(followers.map((f) => [f.id, { atL: greedy(f, L), atLminus1: greedy(f, L - 1), atLplus1: greedy(f, L + 1) }])),
  summedSlope: followers.reduce((s, f) => s + (greedy(f, L + 1) - greedy(f, L - 1)) / 2, 0),
};
console.log(JSON.stringify(out, null, 1));
