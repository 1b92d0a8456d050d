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
      console.log(
        `ppo seed ${seed}: leader ${r.leader.toFixed(3)} (${(100 * errL).toFixed(2)}%), follower ${r.follower.toFixed(3)} (${(100 * errF).toFixed(2)}%), ` +
          `${r.seconds.toFixed(1)} s, backend ${r.backend}, ${Math.round(r.samplesPerSecond)} samples/s`,
      );
      expect(Math.abs(errL)).toBeLessThan(0.02);
      expect(Math.abs(errF)).toBeLessThan(0.02);
    }, 90_000);
  }
});
