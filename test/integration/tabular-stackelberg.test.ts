/**
 * The tabular learners' acceptance check, end to end: `stackelberg run` on the experiment files as
 * shipped (every firm its own process, default asynchronous mode, a real nats-server started by the
 * launcher), three seeds each. Both firms Q-learning, then both Hedge, on the linear duopoly
 * a = 100, b = 1, c = 10: the evaluation window must end within 2% of leader 45, follower 22.5.
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

for (const experiment of ["q-learning-duopoly.yaml", "hedge-duopoly.yaml"]) {
  describe(`tabular stackelberg ${experiment}`, () => {
    for (const seed of [1, 2, 3]) {
      it(`tabular stackelberg - ${experiment} ends within 2% of the equilibrium (seed ${seed})`, async () => {
        const out = mkdtempSync(join(tmpdir(), "stk-tab-"));
        try {
          const p = spawnCli([
            "run",
            join(ROOT, "experiments", experiment),
            "--seed",
            String(seed),
            "--out",
            out,
            "--no-progress",
          ]);
          const code = await p.exit;
          expect(code, p.output()).toBe(0);
          const s = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
          const firms = Object.entries(s.final.firms)
            .map(([id, f]) => `${id} ${f.quantity}`)
            .join(", ");
          expect(s.final.distance, firms).toBeLessThan(0.02);
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      }, 180_000);
    }
  });
}
