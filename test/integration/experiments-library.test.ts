/**
 * The experiments library stays runnable: every experiments/*.yaml is documented at its top, and a
 * shortened copy of it (a few rounds, phases of a few rounds, small batch) runs end to end with
 * `stackelberg run` (its own nats-server, every firm in its own process) and leaves a summary with
 * every round played and a report with charts. Nothing is changed in the experiment but its length.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { assertBuilt, killLeftovers, ROOT, spawnCli } from "../fixtures/cli.js";

const DIR = join(ROOT, "experiments");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

interface Doc {
  market: { batch?: number; roundsPerEpisode?: number; episodes?: number; deadlineMs?: number };
  training?: { schedule?: { kind: string; phaseRounds?: number; evaluateRounds?: number }; checkpointEvery?: number };
}

/** The experiment cut to a few episodes; returns it and the rounds it will play. */
function shorten(doc: Doc): { doc: Doc; rounds: number } {
  const T = doc.market.roundsPerEpisode ?? 1;
  const episodes = Math.max(2, Math.ceil(12 / T));
  doc.market.episodes = episodes;
  doc.market.batch = Math.min(doc.market.batch ?? 1, 8);
  doc.market.deadlineMs = Math.max(doc.market.deadlineMs ?? 0, 30_000);
  const s = doc.training?.schedule;
  if (s?.kind === "alternating") {
    s.phaseRounds = Math.max(T, 4);
    s.evaluateRounds = T;
  }
  if (doc.training?.checkpointEvery !== undefined) doc.training.checkpointEvery = 4 * T;
  return { doc, rounds: episodes * T };
}

afterEach(killLeftovers);

describe("experiments library", () => {
  assertBuilt();
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("experiments library - has the experiments the docs promise", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
    for (const f of FILES) {
      const first = readFileSync(join(DIR, f), "utf8").split("\n")[0] ?? "";
      expect(first, `${f} starts with its documentation comment`).toMatch(/^# \S/);
    }
  });

  for (const file of FILES) {
    it(`experiments library - ${file} runs (shortened) and leaves its summary and report`, async () => {
      const work = mkdtempSync(join(tmpdir(), "stk-lib-"));
      dirs.push(work);
      const { doc, rounds } = shorten(parse(readFileSync(join(DIR, file), "utf8")) as Doc);
      const yaml = join(work, file);
      writeFileSync(yaml, stringify(doc));
      const out = join(work, "out");
      const p = spawnCli(["run", yaml, "--out", out, "--quiet"]);
      const code = await p.exit;
      expect(code, p.output()).toBe(0);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { rounds: number; final: { distance: number } };
      expect(summary.rounds).toBe(rounds);
      expect(Number.isFinite(summary.final.distance)).toBe(true);
      const report = join(out, "report.html");
      expect(existsSync(report)).toBe(true);
      expect(readFileSync(report, "utf8")).toMatch(/<svg/);
    }, 180_000);
  }
});
