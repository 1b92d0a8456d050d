import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvColumns, csvField, csvHeader, csvRow } from "../../../services/report/csv.js";
import { finalWindowOf, type RoundMetrics, SummaryBuilder } from "../../../services/report/metrics.js";
import { MetricsFiles, mergeLearnerMetrics } from "../../../services/report/metrics-files.js";
import { equilibriaFor, referenceFor } from "../../../services/report/equilibria.js";
import { loadExperiment } from "../../../services/config/index.js";

const ids = ["follower", "leader"];

function row(round: number, q = [22.5, 45]): RoundMetrics {
  return {
    round,
    episode: round,
    step: 0,
    priceMean: 100 - q[0]! - q[1]!,
    firms: {
      follower: { quantityMean: q[0]!, profitMean: 10 * q[0]!, absent: false, distance: 0 },
      leader: { quantityMean: q[1]!, profitMean: 10 * q[1]!, absent: round % 5 === 4, distance: 0.5 },
    },
    distance: 0.5,
  };
}

/** Parses our CSV (quoted fields may hold commas and doubled quotes; no newlines in these tests). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "stk-metrics-files-"));
}

describe("metrics files", () => {
  it("csv - flat dotted columns, fields quoted only when needed, non-finite numbers empty", () => {
    expect(csvColumns(ids, [["leader", ["loss", "explorationStd"]]])).toEqual([
      "round",
      "episode",
      "step",
      "priceMean",
      "distance",
      "follower.quantityMean",
      "follower.profitMean",
      "follower.absent",
      "follower.distance",
      "leader.quantityMean",
      "leader.profitMean",
      "leader.absent",
      "leader.distance",
      "learners.leader.loss",
      "learners.leader.explorationStd",
    ]);
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField("plain")).toBe("plain");
    expect(csvField(Number.NaN)).toBe("");
    expect(csvField(undefined)).toBe("");
    expect(csvField(1.5e-9)).toBe("1.5e-9");
    expect(csvField(true)).toBe("true");
    const line = csvRow({ ...row(4), learners: { leader: { loss: 0.25 } } }, ids, [["leader", ["loss", "explorationStd"]]]);
    expect(parseCsvLine(line.trimEnd())).toEqual([
      "4",
      "4",
      "0",
      "32.5",
      "0.5",
      "22.5",
      "225",
      "false",
      "0",
      "45",
      "450",
      "true",
      "0.5",
      "0.25",
      "",
    ]);
    expect(csvHeader(['odd,"id']).split(",").length).toBe(5 + 4 * 2);
  });

  it("metrics files - metrics.csv holds the same rows as metrics.jsonl", async () => {
    const dir = tmp();
    const f = new MetricsFiles(dir, ids);
    for (let r = 0; r < 25; r++) {
      f.add(row(r, [20 + r / 10, 40 + r / 7]));
      if (r % 4 === 0) f.flush();
    }
    await f.end();
    const jsonl = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as RoundMetrics);
    const csv = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n").map(parseCsvLine);
    expect(jsonl).toHaveLength(25);
    expect(csv).toHaveLength(26);
    const header = csv[0]!;
    csv.slice(1).forEach((cells, k) => {
      const m = jsonl[k]!;
      const get = (name: string) => cells[header.indexOf(name)];
      expect(Number(get("round"))).toBe(m.round);
      expect(Number(get("priceMean"))).toBe(m.priceMean);
      expect(Number(get("leader.quantityMean"))).toBe(m.firms.leader!.quantityMean);
      expect(get("leader.absent")).toBe(String(m.firms.leader!.absent));
    });
  });

  it("metrics files - learner metrics merge into both files, streaming; a resumed firm's replayed rounds win, as in the run", async () => {
    fc.assert(
      await fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        // Each resumed segment goes back `back` rounds from where the last one stopped (to its
        // checkpoint) and plays `len` rounds, or to the end.
        fc.array(fc.record({ back: fc.integer({ min: 0, max: 30 }), len: fc.integer({ min: 0, max: 30 }) }), { maxLength: 3 }),
        fc.boolean(),
        async (rounds, restarts, deterministic) => {
          const dir = tmp();
          const f = new MetricsFiles(dir, ids);
          for (let r = 0; r < rounds; r++) f.add(row(r));
          await f.end();
          mkdirSync(join(dir, "learners"));
          // The leader's file: rounds 0.. with restarts that go back to a checkpoint and play again.
          const lines: { round: number; loss: number; trainMs: number }[] = [];
          let end = Math.min(rounds, 10);
          for (let r = 0; r < end; r++) lines.push({ round: r, loss: r, trainMs: 1 });
          restarts.forEach(({ back, len }, k) => {
            const start = Math.max(0, end - back);
            end = k === restarts.length - 1 ? rounds : Math.min(rounds, start + len);
            for (let r = start; r < end; r++) lines.push({ round: r, loss: (k + 1) * 1000 + r, trainMs: 1 });
          });
          writeFileSync(
            join(dir, "learners", "leader.jsonl"),
            lines.map((l) => JSON.stringify(l)).join("\n") + (lines.length ? "\n" : ""),
          );
          const keep = deterministic ? (k: string) => !k.endsWith("Ms") : undefined;
          const last = await mergeLearnerMetrics(dir, ids, keep);
          // What the run's in-memory merge produced: the last line of each round wins.
          const expected = new Map<number, { loss: number; trainMs: number }>();
          for (const { round, ...m } of lines) expected.set(round, m);
          const merged = readFileSync(join(dir, "metrics.jsonl"), "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
          expect(merged).toHaveLength(rounds);
          for (const m of merged) {
            const e = expected.get(m.round);
            if (!e) expect(m.learners).toBeUndefined();
            else expect(m.learners).toEqual({ leader: deterministic ? { loss: e.loss } : e });
          }
          if (lines.length > 0) expect(last.leader).toEqual({ loss: lines.at(-1)!.loss, trainMs: 1 });
          const csv = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n").map(parseCsvLine);
          expect(csv).toHaveLength(rounds + 1);
          if (lines.length > 0) {
            const col = csv[0]!.indexOf("learners.leader.loss");
            expect(col).toBeGreaterThan(0);
            expect(csv[0]!.includes("learners.leader.trainMs")).toBe(!deterministic);
            csv.slice(1).forEach((cells, k) => expect(cells[col]).toBe(String(expected.get(k)?.loss ?? "")));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("summary - running sums of the final window give the same summary as keeping every row", () => {
    const exp = loadExperiment("experiments/duopoly-linear.yaml");
    const eq = equilibriaFor(exp);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 40 }), (total, evaluation) => {
        const all = new SummaryBuilder(eq, total);
        const kept = new SummaryBuilder(eq, total, undefined, finalWindowOf(total, 1, evaluation));
        for (let r = 0; r < total; r++) {
          const m = row(r, [22.5 + Math.sin(r), 45 + Math.cos(r)]);
          all.add(m);
          kept.add(m);
        }
        expect(kept.count).toBe(total);
        expect(kept.build("x", "id", 1, 1, {}, evaluation)).toEqual(all.build("x", "id", 1, 1, {}, evaluation));
      }),
      { numRuns: 60 },
    );
    // Episodes of T rounds, a dynamic reference, valuation firms: per-step figures too.
    const lbd = loadExperiment("experiments/valuation-learning-by-doing.yaml");
    const lbdEq = equilibriaFor(lbd);
    const ref = referenceFor(lbd);
    const T = lbd.market.roundsPerEpisode;
    const lbdIds = lbd.firms.map((f) => f.id);
    const discounts = Object.fromEntries(lbd.firms.map((f) => [f.id, f.discount]));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 25 }), (episodes, evaluation) => {
        const total = episodes * T;
        const all = new SummaryBuilder(lbdEq, total, ref);
        const kept = new SummaryBuilder(lbdEq, total, ref, finalWindowOf(total, T, evaluation));
        for (let r = 0; r < total; r++) {
          const m: RoundMetrics = { ...row(r), episode: Math.floor(r / T), step: r % T, firms: {} };
          lbdIds.forEach((id, k) => {
            m.firms[id] = {
              quantityMean: 20 + k + Math.sin(r * (k + 1)),
              profitMean: 300 + Math.cos(r),
              absent: false,
              distance: 0.1,
            };
          });
          all.add(m);
          kept.add(m);
        }
        expect(kept.build("x", "id", 1, T, discounts, evaluation)).toEqual(all.build("x", "id", 1, T, discounts, evaluation));
      }),
      { numRuns: 30 },
    );
  });
});
