import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { solveEquilibrium } from "../../market/economics/index.js";
import { statsOf } from "../../services/bus/index.js";
import { loadExperiment } from "../../services/config/index.js";
import { readRecord } from "../../services/report/record.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

function experiment(name: string, followers: { id: string; c: number }[], batch: number, episodes: number) {
  return {
    name,
    seed: 5,
    market: {
      demand: { kind: "linear", a: 100, b: 1 },
      batch,
      episodes,
      quantityMax: 100,
      dynamics: { shock: { rho: 0.5, sigma: 3 } },
    },
    firms: [
      { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
      ...followers.map((f) => ({
        id: f.id,
        role: "follower",
        cost: { kind: "linear", c: f.c },
        policy: { kind: "best-response" },
      })),
    ],
  };
}

async function runAndCheck(exp: ReturnType<typeof experiment>) {
  const file = writeExperiment(exp);
  const out = mkdtempSync(join(tmpdir(), "stk-run-"));
  const run = spawnCli(["run", file, "--nats", nats.url, "--insecure", "--out", out, "--no-progress"]);
  const code = await run.exit;
  expect(code, run.output()).toBe(0);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  const runId = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).runId as string;
  const parsed = loadExperiment(file);
  // Every firm ran in its own process: the launcher spawned one per firm.
  expect(parsed.firms.length).toBe(exp.firms.length);
  const nc = await connect({ servers: nats.url });
  try {
    const record = await readRecord(nc, runId);
    expect(record.length).toBe(parsed.market.totalRounds);
    let worst = 0;
    const B = parsed.market.batch;
    const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(metrics.length).toBe(record.length);
    // Instance i of round r faces demand level a + shift; the shift is common knowledge (in the observation),
    // so the equilibrium is solved per instance from the recorded price and quantities.
    record.forEach((o, r) => {
      expect(Number(o.round)).toBe(r);
      const ids = o.firmIds ?? [];
      for (let i = 0; i < B; i++) {
        const total = ids.reduce((s, _, f) => s + (o.quantities?.[f * B + i] ?? 0), 0);
        const shift = (o.prices?.[i] ?? 0) + total - 100;
        const eq = solveEquilibrium(
          { kind: "linear", a: 100, b: 1 },
          parsed.firms.map((f) => ({ id: f.id, tier: f.tier, cost: f.cost })),
          { shift },
        );
        ids.forEach((id, f) => {
          const want = eq.firms.find((x) => x.id === id)?.quantity ?? Number.NaN;
          const got = o.quantities?.[f * B + i] ?? Number.NaN;
          worst = Math.max(worst, Math.abs(got - want) / Math.max(1, Math.abs(want)));
        });
      }
      expect((o.absent ?? []).some(Boolean)).toBe(false);
      // the results file agrees with the record: the same doubles as the means of the recorded arrays
      const m = metrics[r];
      const st = statsOf(o);
      expect(m.round).toBe(r);
      expect(m.priceMean).toBe(st.priceMean);
      ids.forEach((id, f) => {
        expect(m.firms[id].quantityMean).toBe(st.quantityMeans?.[f]);
        expect(m.firms[id].profitMean).toBe(st.profitMeans?.[f]);
        const q = (o.quantities ?? []).slice(f * B, (f + 1) * B);
        expect(m.firms[id].quantityMean).toBeCloseTo(q.reduce((a, b) => a + b, 0) / B, 9);
      });
    });
    expect(worst).toBeLessThan(1e-9);
    expect(summary.rounds).toBe(parsed.market.totalRounds);
  } finally {
    await nc.close();
  }
}

describe("equilibrium play", () => {
  it("equilibrium play - 1 leader + 1 follower best responses reproduce the equilibrium in every round and instance", async () => {
    await runAndCheck(experiment("eq-duopoly", [{ id: "follower", c: 10 }], 8, 40));
  });

  it("equilibrium play - 1 leader + 3 followers with asymmetric costs reproduce the equilibrium", async () => {
    await runAndCheck(
      experiment(
        "eq-four",
        [
          { id: "f1", c: 10 },
          { id: "f2", c: 14 },
          { id: "f3", c: 18 },
        ],
        4,
        30,
      ),
    );
  });
});
