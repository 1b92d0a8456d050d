#!/usr/bin/env node
/**
 * The followers' learned reactions around the leaders' final total, read off a finished two-tier
 * run: the leaders' quantities of the final (greedy) window from summary.json, each follower's
 * saved policy asked for its quantity at that total L and at L +- 1 (the report's reaction curves,
 * services/report/reaction.ts), and the summed slope of the followers' reactions there: where the
 * leaders settle is set by that slope (docs/alternating.md).
 *
 *   npm run build && node scripts/reaction-slope.mjs RUN_DIR
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadExperiment } from "../dist/services/config/index.js";
import { reactionCurves } from "../dist/services/report/reaction.js";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/reaction-slope.mjs RUN_DIR");
  process.exit(2);
}
const exp = loadExperiment(join(dir, "config.yaml"));
if (exp.firms.some((f) => f.tier > 1)) {
  console.error("reaction-slope: two tiers only (leaders and followers)");
  process.exit(2);
}
const { runId } = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
const final = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).final.firms;
const leaders = Object.fromEntries(exp.firms.filter((f) => f.tier === 0).map((f) => [f.id, final[f.id].quantity]));
const L = Object.values(leaders).reduce((s, q) => s + q, 0);
const curves = await reactionCurves(dir, exp, runId, [L - 1, L, L + 1]);
const followers = {};
let summedSlope = 0;
for (const c of curves) {
  if (!c.learned) {
    console.error(`reaction-slope: ${c.note}`);
    process.exit(1);
  }
  const [below, at, above] = c.learned;
  followers[c.firmId] = { atL: at, atLminus1: below, atLplus1: above, bestResponseAtL: c.bestResponse[1] };
  summedSlope += (above - below) / 2;
}
console.log(JSON.stringify({ run: dir, leaders, leadersTotal: L, followers, summedSlope }, null, 1));
