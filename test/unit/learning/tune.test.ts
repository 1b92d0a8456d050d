import { test } from "vitest";
import { learnerOptions } from "../../../agents/learning/options.js";
import { type PpoConfig, PpoPolicy } from "../../../agents/policies/ppo.js";
import type { ActContext } from "../../../agents/policy.js";
import { Harness, meanOf } from "./harness.js";
import { scenario } from "./stackelberg-run.js";

const seeds = (process.env.SEEDS ?? "1").split(",").map(Number);
const policy = JSON.parse(process.env.POLICY ?? "{}");
const phaseRounds = Number(process.env.PHASE ?? 300);
const phases = Number(process.env.PHASES ?? 2);

function probeCtx(B: number, q1: number): ActContext {
  return {
    round: 0, episode: 0, step: 0, episodeEnd: true, phase: "evaluate",
    observation: new Float64Array(B * 4), committedTotal: new Float64Array(B).fill(q1), committed: new Map(),
    ownLastQuantity: new Float64Array(B), ownMarginalCost: new Float64Array(B).fill(10),
  };
}

test("tune", async () => {
  for (const seed of seeds) {
    const t0 = performance.now();
    const h = await Harness.create(scenario({ seed, policy, phaseRounds, phases, batch: Number(process.env.B ?? 256) }), async (run, firm, exp) =>
      PpoPolicy.create(run, firm.policy as PpoConfig, { ...learnerOptions(exp, firm), inline: true }),
    );
    const B = h.exp.market.batch;
    const fol = h.policy("follower");
    const L = h.exp.firms.findIndex((f) => f.id === "leader");
    const F = h.exp.firms.findIndex((f) => f.id === "follower");
    const probe = async () => {
      fol.onPhase?.({ name: "probe", round: 0, training: false, exploring: false });
      let se = 0; let n = 0; const at: Record<number, number> = {};
      for (let q1 = 20; q1 <= 70; q1 += 5) {
        const a = (await fol.act(probeCtx(B, q1)))[0] as number;
        at[q1] = a - (90 - q1) / 2; se += at[q1] ** 2; n++;
      }
      fol.onPhase?.({ name: "train-followers", round: 0, training: true, exploring: false });
      return `rms=${Math.sqrt(se / n).toFixed(3)} e45=${at[45]!.toFixed(3)} slope=${((at[50]! - at[40]!) / 10).toFixed(4)}`;
    };
    const every = Number(process.env.PROBE ?? 0);
    if (every > 0) {
      for (let r = 0; r < phaseRounds; r += every) { await h.play(every); console.log(`seed ${seed} r${r + every} ${await probe()}`); }
    } else await h.play(phaseRounds);
    fol.onPhase?.({ name: "probe", round: 0, training: false, exploring: false });
    const errs: string[] = [];
    for (let q1 = 0; q1 <= 100; q1 += 10) {
      const a = (await fol.act(probeCtx(B, q1)))[0] as number;
      errs.push(`${q1}:${(a - Math.max(0, (90 - q1) / 2)).toFixed(2)}`);
    }
    const d = (q: number) => ((await0(fol, B, q + 1) - await0(fol, B, q - 1)) / 2);
    void d;
    console.log(`seed ${seed} follower err ${errs.join(" ")} t=${((performance.now() - t0) / 1000).toFixed(1)}`);
    const last = await h.play(undefined, (rec) => {
      if (process.env.LOG === "1" && rec.round % 50 === 0) console.log(rec.round, rec.phase, meanOf(rec, L, B).toFixed(2), meanOf(rec, F, B).toFixed(2));
    });
    const l = meanOf(last!, L, B);
    const f = meanOf(last!, F, B);
    console.log(`seed ${seed} L=${l.toFixed(3)} F=${f.toFixed(3)} errL% ${((l / 45 - 1) * 100).toFixed(2)} errF% ${((f / 22.5 - 1) * 100).toFixed(2)} t=${((performance.now() - t0) / 1000).toFixed(1)}s`);
    await h.close();
  }
}, 600_000);
function await0(_p: unknown, _B: number, _q: number): number { return 0; }
