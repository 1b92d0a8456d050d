/**
 * DDPG, MADDPG and MAPPO on the linear duopoly a = 100, b = 1, c = 10 (leader 45, follower 22.5),
 * end to end: `stackelberg run` on the experiment files as shipped (every firm its own process,
 * default asynchronous mode). One seed each (the files' comments list three); the evaluation window
 * must end within 2% of the equilibrium with no experience dropped. (PPO's is the unit acceptance
 * test, test/unit/learning/ppo-stackelberg.test.ts; Q-learning's and Hedge's are in
 * test/unit/learning/tabular.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killLeftovers, ROOT, spawnCli } from "../fixtures/cli.js";

afterEach(() => killLeftovers());

interface Summary {
  final: { distance: number; firms: Record<string, { quantity: number; distance: number }> };
}

for (const experiment of ["ddpg-duopoly.yaml", "maddpg-duopoly.yaml", "mappo-duopoly.yaml"]) {
  describe(`duopoly learners ${experiment}`, () => {
    it(`duopoly learners - ${experiment} ends within 2% of the equilibrium (seed 1)`, async () => {
      const out = mkdtempSync(join(tmpdir(), "stk-duopoly-"));
      try {
        const p = spawnCli(["run", join(ROOT, "experiments", experiment), "--seed", "1", "--out", out, "--no-progress"]);
        const code = await p.exit;
        expect(code, p.output()).toBe(0);
        const raw = readFileSync(join(out, "summary.json"), "utf8");
        const s = JSON.parse(raw) as Summary;
        const firms = Object.entries(s.final.firms)
          .map(([id, f]) => `${id} ${f.quantity}`)
          .join(", ");
        expect(s.final.distance, firms).toBeLessThan(0.02);
        for (const m of raw.matchAll(/"droppedRows":\s*([0-9.]+)/g)) expect(Number(m[1])).toBe(0);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 600_000);
  });
}
