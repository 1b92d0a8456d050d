import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlKind, decode, MemoryBus, type Outcome, statsOf } from "../../services/bus/index.js";
import { loadExperiment } from "../../services/config/index.js";
import { readRecord, readStats } from "../../services/report/record.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";
import { playInProcess } from "../fixtures/play.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe("market restart", () => {
  it("market restart - a killed market resumes after the last recorded round; firms register again; no round lost or repeated", async () => {
    const rounds = 3000;
    const cfg = writeExperiment({
      name: "restart",
      seed: 9,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        dynamics: { shock: { rho: 0.8, sigma: 1 } },
        batch: 2,
        episodes: rounds,
        quantityMax: 100,
        // No deadline fires in this test: a frozen firm holds the round instead (see below).
        deadlineMs: 3_600_000,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
      ],
    });
    const run = "restart";
    const nc = await connect({ servers: nats.url });
    let seen = 0;
    nc.subscribe(`stk.${run}.outcome`, { callback: () => void seen++ });
    let ended = false;
    nc.subscribe(`stk.${run}.control`, {
      callback: (_e, m) => void (decode.control(m.data).kind === ControlKind.END_OF_RUN && (ended = true)),
    });
    const args = ["--config", cfg, "--nats", nats.url, "--run", run, "--insecure"];
    const first = spawnCli(["market", ...args]);
    const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...args, "--firm", id]));
    try {
      while (seen < 300) await new Promise((r) => setTimeout(r, 20));
      // Freeze the follower: the market cannot clear past the round in progress, whatever the
      // machine's speed, so the kill lands mid-run.
      firms[1]?.proc.kill("SIGSTOP");
      first.proc.kill("SIGKILL");
      await first.exit;
      firms[1]?.proc.kill("SIGCONT");
      const partial = await readRecord(nc, run);
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(rounds);
      const second = spawnCli(["market", ...args, "--resume"]);
      expect(await second.exit, second.output()).toBe(0);
      for (const f of firms) expect(await f.exit).toBe(0);
      expect(ended).toBe(true);
      const record = await readRecord(nc, run);
      expect(record.map((o) => Number(o.round))).toEqual(Array.from({ length: rounds }, (_, i) => i));
      for (const o of record) expect((o.absent ?? []).some(Boolean)).toBe(false);
      // The stats subject holds every round once, equal to the means of the recorded round.
      const stats = await readStats(nc, run);
      expect(stats.map((s) => Number(s.round))).toEqual(Array.from({ length: rounds }, (_, i) => i));
      stats.forEach((s, r) => {
        const want = statsOf(record[r] as Outcome);
        expect([s.priceMean, s.quantityMeans, s.profitMeans, s.episode, s.step]).toEqual([
          want.priceMean,
          want.quantityMeans,
          want.profitMeans,
          want.episode,
          want.step,
        ]);
      });
      // The demand shocks continued from the replayed state: prices equal those of the same run
      // played without interruption (in process, over the in-memory bus).
      const exp = loadExperiment(cfg);
      const prices = (await playInProcess(new MemoryBus(), exp, "ref")).map((r) => Array.from(r.result.prices));
      expect(record.map((o) => o.prices)).toEqual(prices);
      // Starting the same run again without --resume is refused before anything is published.
      const again = spawnCli(["market", ...args]);
      expect(await again.exit).toBe(2);
      expect(again.output()).toMatch(/already has 3000 recorded rounds; continue it with --resume/);
      expect((await readRecord(nc, run)).length).toBe(rounds);
    } finally {
      for (const f of firms) f.proc.kill();
      await nc.close();
    }
  });
});
