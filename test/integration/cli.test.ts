import { describe, expect, it } from "vitest";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";

describe("cli", () => {
  it("cli - solve prints the hand-checkable duopoly equilibrium", async () => {
    const p = spawnCli(["solve", "experiments/duopoly-linear.yaml", "--json"]);
    expect(await p.exit).toBe(0);
    const eq = JSON.parse(p.output());
    const byId = Object.fromEntries(eq.stackelberg.firms.map((f: { id: string }) => [f.id, f]));
    expect(byId.leader.quantity).toBeCloseTo(45, 9);
    expect(byId.follower.quantity).toBeCloseTo(22.5, 9);
    expect(eq.stackelberg.price).toBeCloseTo(32.5, 9);
    expect(byId.leader.profit).toBeCloseTo(1012.5, 9);
    expect(byId.follower.profit).toBeCloseTo(506.25, 9);
    const table = spawnCli(["solve", "experiments/duopoly-linear.yaml"]);
    expect(await table.exit).toBe(0);
    expect(table.output()).toMatch(/leader\s+leader\s+0\s+45\s+1012.5/);
  });

  it("cli - a bad config exits non-zero with every bad field and no stack trace", async () => {
    const file = writeExperiment({
      market: { demand: { kind: "linear", a: 100, b: -1 } },
      firms: [{ id: "f", role: "follower", cost: { kind: "linear", c: 1 }, policy: { kind: "telepathy" } }],
    });
    for (const cmd of [["solve", file], ["run", file]]) {
      const p = spawnCli(cmd);
      expect(await p.exit).toBe(2);
      const out = p.output();
      expect(out).toMatch(/market\.demand\.b: expected a number > 0/);
      expect(out).toMatch(/firms\[0\]\.policy\.kind/);
      expect(out).toMatch(/firms\[0\]\.role: a follower needs a leader/);
      expect(out).not.toMatch(/\n\s+at /);
    }
  });

  it("cli - a missing file and a missing argument are clear errors", async () => {
    const p = spawnCli(["solve", "no/such/file.yaml"]);
    expect(await p.exit).toBe(2);
    expect(p.output()).toMatch(/cannot read experiment file no\/such\/file.yaml/);
    const q = spawnCli(["solve"]);
    expect(await q.exit).not.toBe(0);
    expect(q.output()).toMatch(/missing required argument/);
  });
});
