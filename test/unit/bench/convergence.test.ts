/**
 * The convergence matrix tool (bench/convergence.ts) without learning runs: every generated
 * experiment is valid, settings are the same per learner across markets, summaries are parsed, the
 * options select subsets and the Markdown marks misses, failures and cells not run.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import {
  type CellResult,
  generateExperiment,
  LEARNERS,
  MARKETS,
  parseArgs,
  parseSummary,
  renderMarkdown,
  settingsKey,
} from "../../../bench/convergence.js";
import { parseExperiment } from "../../../services/config/load.js";

describe("convergence matrix", () => {
  test("convergence - every learner x market experiment is valid, with one set of settings per learner", () => {
    for (const l of LEARNERS) {
      const shapes = new Set<string>();
      for (const m of MARKETS) {
        const raw = generateExperiment(l, m);
        const exp = parseExperiment(parse(stringify(raw)), `${l}/${m.key}`);
        expect(exp).toBeDefined();
        const firms = raw.firms as { role: string; policy: { kind: string } }[];
        expect(firms.length).toBe(m.firms.length);
        for (const f of firms) expect(f.policy.kind).toBe(l);
        const { market, training } = raw as { market: Record<string, unknown>; training: unknown };
        shapes.add(JSON.stringify([market.batch, market.episodes, training]));
      }
      expect(shapes.size).toBe(1);
    }
    const keys = MARKETS.map((m) => m.key);
    expect(keys).toEqual(["duopoly", "1l2f", "asymmetric", "2l2f", "ce"]);
    const twoTwo = MARKETS.find((m) => m.key === "2l2f");
    expect(twoTwo?.firms.filter((f) => f.role === "leader").length).toBe(2);
    expect(twoTwo?.firms.filter((f) => f.role === "follower").length).toBe(2);
  });

  test("convergence - the settings of a row are those of the experiment file it names", () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
    const same = (learner: (typeof LEARNERS)[number], market: string, file: string) => {
      const m = MARKETS.find((x) => x.key === market);
      if (!m) throw new Error(market);
      const gen = parseExperiment(generateExperiment(learner, m));
      const lib = parseExperiment(parse(readFileSync(join(root, "experiments", file), "utf8")));
      // checkpointEvery only says when checkpoints are written.
      const pick = (e: typeof gen) => ({ market: e.market, firms: e.firms, training: { ...e.training, checkpointEvery: 0 } });
      expect(pick(gen)).toEqual(pick(lib));
    };
    same("ddpg", "duopoly", "ddpg-duopoly.yaml");
    same("maddpg", "duopoly", "maddpg-duopoly.yaml");
    same("mappo", "2l2f", "mappo-two-leaders-two-followers.yaml");
    same("ppo", "2l2f", "ppo-two-leaders-two-followers.yaml");
    same("ppo", "1l2f", "ppo-one-leader-two-followers.yaml");
  });

  test("convergence - parseSummary reads distance, quantities and sums dropped rows", () => {
    const r = parseSummary({
      final: {
        distance: 0.0123,
        firms: { leader: { quantity: 44.5, equilibriumQuantity: 45 }, follower: { quantity: 22.6, equilibriumQuantity: 22.5 } },
      },
      learners: { leader: { droppedRows: 0 }, follower: { droppedRows: 2 } },
    });
    expect(r.distance).toBe(0.0123);
    expect(r.droppedRows).toBe(2);
    expect(r.quantities?.leader).toEqual({ quantity: 44.5, equilibrium: 45 });
    expect(parseSummary({ final: { distance: 0, firms: {} } }).droppedRows).toBe(0);
    expect(() => parseSummary({ rounds: 3 })).toThrow(/final.distance/);
  });

  test("convergence - options choose subsets and refuse unknown names", () => {
    const all = parseArgs([]);
    expect(all.learners).toEqual([...LEARNERS]);
    expect(all.markets.length).toBe(5);
    expect(all.seeds).toEqual([1, 2, 3]);
    const some = parseArgs(["--learners", "ppo,hedge", "--markets", "ce,2l2f", "--seeds", "2"]);
    expect(some.learners).toEqual(["ppo", "hedge"]);
    expect(some.markets.map((m) => m.key)).toEqual(["ce", "2l2f"]);
    expect(some.seeds).toEqual([2]);
    expect(() => parseArgs(["--learners", "sarsa"])).toThrow(/unknown learner/);
    expect(() => parseArgs(["--markets", "oligopoly"])).toThrow(/unknown market/);
  });

  test("convergence - the table marks misses, failures and cells not run", () => {
    const date = "2026-11-30T10:00:00.000Z";
    const results: CellResult[] = [
      {
        learner: "ppo",
        market: "duopoly",
        seed: 1,
        status: "ok",
        distance: 0.005,
        droppedRows: 0,
        wallSeconds: 40,
        date,
        settings: settingsKey("ppo"),
        quantities: { leader: { quantity: 45.1, equilibrium: 45 } },
      },
      { learner: "ppo", market: "duopoly", seed: 2, status: "ok", distance: 0.031, droppedRows: 0, wallSeconds: 41, date, settings: settingsKey("ppo") },
      { learner: "ppo", market: "duopoly", seed: 3, status: "failed", error: "exit 1: boom | bad", wallSeconds: 2, date, settings: settingsKey("ppo") },
      // A cell run with other settings is not counted.
      { learner: "mappo", market: "ce", seed: 1, status: "ok", distance: 0.05, droppedRows: 0, wallSeconds: 9, date, settings: "{}" },
      { learner: "mappo", market: "ce", seed: 2, status: "ok", distance: 0.05, droppedRows: 0, wallSeconds: 9, date },
    ];
    const md = renderMarkdown(results, { machine: "test", command: "npm run convergence" });
    expect(md).toContain("| ppo | duopoly | 0.50% / 40 s / 0 | **3.10%** / 41 s / 0 | failed: exit 1: boom / bad |");
    expect(md).toContain("| hedge | ce | not run | not run | not run |");
    expect(md).toContain("- ppo / duopoly / seed 2: 3.10%");
    expect(md).toContain("- ppo / duopoly / seed 3: failed");
    expect(md).toContain("leader 45.10 (45.00)");
    expect(md).toContain("| mappo | ce | not run (older settings: 5.00%) | not run (older settings: 5.00%) | not run |");
    expect(md).not.toContain("mappo / ce / seed 1");
  });
});
