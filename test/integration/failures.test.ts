/**
 * Failures a user sees as one clear line, never a stack trace: a record broken by a foreign
 * message (possible only on a server without auth) and a registration the market refuses.
 */
import { connect } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decode, runSubjects } from "../../services/bus/index.js";
import { killLeftovers, spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";

afterEach(killLeftovers);

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

const raw = (firms: Array<{ id: string; role: string }>) => ({
  name: "failures",
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2, episodes: 1_000_000, deadlineMs: 3000 },
  firms: firms.map((f) => ({ ...f, cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } })),
});
const duopoly = raw([
  { id: "leader", role: "leader" },
  { id: "follower", role: "follower" },
]);

describe("failures", () => {
  it("failures - a foreign message in the record stops the run: END_OF_RUN for the firms, one named error from the market", async () => {
    const run = `broken-${process.pid}`;
    const cfg = writeExperiment(duopoly);
    const args = ["--config", cfg, "--nats", nats.url, "--run", run, "--insecure"];
    const market = spawnCli(["market", ...args]);
    const firms = ["leader", "follower"].map((id) => spawnCli(["firm", ...args, "--firm", id]));
    const nc = await connect({ servers: nats.url });
    const s = runSubjects(run);
    let last = -1;
    nc.subscribe(s.outcome, {
      callback: (_e, m) => {
        if (m.data.length > 4) last = Math.max(last, Number(decode.outcome(m.data).round ?? -1));
      },
    });
    while (last < 10) await new Promise((r) => setTimeout(r, 20));
    // Four bytes on the outcome subject: the stream stores them between the market's messages.
    nc.publish(s.outcome, new Uint8Array([1, 2, 3, 4]));
    await nc.flush();
    const [mc, ...fc] = await Promise.all([market.exit, ...firms.map((f) => f.exit)]);
    await nc.close();
    expect(mc).toBe(2);
    // The firms heard END_OF_RUN marked failed: they stop, and say the run failed.
    expect(fc).toEqual([2, 2]);
    const out = market.output();
    expect(out).toMatch(/stackelberg: the record stream STK_broken_\d+ stored message \d+ where \d+ was expected/);
    expect(out).not.toMatch(/\n\s+at /);
    for (const f of firms) {
      expect(f.output()).toMatch(/stackelberg: the run failed: market stopped: the record stream/);
      expect(f.output()).not.toMatch(/\n\s+at /);
    }
    // Resuming that record is refused with one line naming what is in it, and the market exits.
    const resume = spawnCli(["market", ...args, "--resume"]);
    expect(await resume.exit).toBe(2);
    expect(resume.output()).toMatch(/stackelberg: the record of run broken-\d+ holds (a message at sequence \d+ that does not decode as an Outcome|an outcome for round \d+ that this run cannot have cleared)/);
    expect(resume.output()).not.toMatch(/\n\s+at /);
  });

  it("failures - a firm the market's run does not have is refused with one line (NOT_IN_RUN)", async () => {
    const run = `refused-${process.pid}`;
    const marketCfg = writeExperiment(duopoly);
    const firmCfg = writeExperiment(raw([{ id: "leader", role: "leader" }, { id: "stranger", role: "follower" }]));
    const market = spawnCli(["market", "--config", marketCfg, "--nats", nats.url, "--run", run, "--insecure"]);
    const stranger = spawnCli(["firm", "--config", firmCfg, "--nats", nats.url, "--run", run, "--insecure", "--firm", "stranger"]);
    expect(await stranger.exit).toBe(2);
    market.proc.kill("SIGTERM");
    await market.exit;
    const lines = stranger.output().trim().split("\n").filter((l) => !l.startsWith("{"));
    expect(lines).toEqual([expect.stringMatching(/^stackelberg: market refused registration of stranger: NOT_IN_RUN: firm stranger: is not a firm of this run's configuration$/)]);
    expect(stranger.output()).not.toMatch(/\n\s+at /);
  });
});
