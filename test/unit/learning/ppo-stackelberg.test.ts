/**
 * The project's acceptance criterion: PPO firms under the alternating schedule learn the Stackelberg
 * equilibrium of the linear duopoly a=100, b=1, c=10 (leader 45, follower 22.5) within 2%, for each
 * of three seeds. Follower phase (leader exploring uniformly over [0, 100]), leader phase (follower
 * frozen), then greedy evaluation; default PPO hyperparameters, B = 256, 500 rounds per phase.
 */
import { describe, expect, test } from "vitest";
import { runStackelberg } from "./stackelberg-run.js";

describe("ppo stackelberg", () => {
  for (const seed of [1, 2, 3]) {
    test(`ppo - alternating training reaches the Stackelberg equilibrium within 2% (seed ${seed})`, async () => {
      const r = await runStackelberg({ seed, batch: 256, phaseRounds: 500, phases: 2, evaluateRounds: 5 });
      const errL = r.leader / 45 - 1;
      const errF = r.follower / 22.5 - 1;
      // The quantities in the message, so a failure shows how far off each firm ended.
      expect(Math.abs(errL), `leader ${r.leader}`).toBeLessThan(0.02);
      expect(Math.abs(errF), `follower ${r.follower}`).toBeLessThan(0.02);
    }, 180_000);
  }
});
