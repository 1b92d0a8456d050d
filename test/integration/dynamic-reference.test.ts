/**
 * The run summary's yardstick where the stage game is the wrong one: a short learning-by-doing run
 * (best-response firms, so it is quick and its outcome is known) is compared with the dynamic
 * reference path, and the summary says so.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killLeftovers, spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});
afterEach(killLeftovers);

const T = 5;
const learningByDoing = {
  name: "lbd-reference",
  seed: 3,
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2, roundsPerEpisode: T, episodes: 6, quantityMax: 100 },
  firms: [
    {
      id: "leader",
      role: "leader",
      cost: { kind: "learning-by-doing", c0: 40, cMin: 10, rate: 0.02 },
      policy: { kind: "best-response" },
    },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 20 }, policy: { kind: "best-response" } },
  ],
};

describe("dynamic reference", () => {
  it("dynamic reference - the summary of a learning-by-doing run names the open-loop reference and measures distance to its path", async () => {
    const file = writeExperiment(learningByDoing);
    const out = mkdtempSync(join(tmpdir(), "stk-dyn-"));
    const run = spawnCli(["run", file, "--nats", nats.url, "--insecure", "--out", out, "--no-progress"]);
    expect(await run.exit, run.output()).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.reference.kind).toBe("open-loop-path");
    expect(summary.reference.description).toMatch(
      /^open-loop equilibrium of the 5-round episode; follower \(profit\), leader \(profit\) best-respond/,
    );
    const leader = summary.final.firms.leader;
    expect(leader.referenceQuantityByStep).toHaveLength(T);
    expect(summary.reference.firms.leader.quantityByStep).toEqual(leader.referenceQuantityByStep);
    // Best replies at the leader's current (falling) cost are the myopic reference path, step by step.
    for (let t = 0; t < T; t++) expect(Math.abs(leader.quantityByStep[t] - leader.referenceQuantityByStep[t])).toBeLessThan(1e-9);
    expect(summary.final.distance).toBeLessThan(1e-9);
    // The one-shot stage game at the starting cost is still reported, and is not what was played.
    const stageLeader = summary.equilibria.stackelberg.firms.find((f: { id: string }) => f.id === "leader").quantity;
    expect(leader.quantityByStep[T - 1] - stageLeader).toBeGreaterThan(1);
    // metrics.jsonl measures each round against the reference at its step
    const rows = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(30);
    for (const r of rows) expect(r.distance).toBeLessThan(1e-9);
    // equilibrium.json carries the reference next to the stage equilibria
    const eq = JSON.parse(readFileSync(join(out, "equilibrium.json"), "utf8"));
    expect(eq.reference.kind).toBe("open-loop-path");
    expect(eq.stackelberg.concept).toBe("stackelberg");

    // `stackelberg solve` reports the same reference
    const solve = spawnCli(["solve", file, "--json"]);
    expect(await solve.exit).toBe(0);
    const solved = JSON.parse(solve.output());
    expect(solved.reference.kind).toBe("open-loop-path");
    expect(solved.reference.firms.find((f: { id: string }) => f.id === "leader").quantity).toEqual(
      leader.referenceQuantityByStep,
    );
    const table = spawnCli(["solve", file]);
    expect(await table.exit).toBe(0);
    expect(table.output()).toMatch(/Reference of the run summary: open-loop-path/);
  });

  it("dynamic reference - solve names the stage equilibrium for a static experiment", async () => {
    const p = spawnCli(["solve", "experiments/duopoly-linear.yaml"]);
    expect(await p.exit).toBe(0);
    expect(p.output()).toMatch(
      /Reference of the run summary: stage-equilibrium\n {2}Stackelberg equilibrium of the one-shot stage game/,
    );
  });
});
