import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadExperiment, parseExperiment } from "../../../services/config/index.js";
import { ConfigError } from "../../../services/errors.js";

const base = () => ({
  name: "t",
  market: { demand: { kind: "linear", a: 100, b: 1 } },
  firms: [
    { id: "L", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "F", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 3 } },
  ],
});

function errorOf(raw: unknown): string {
  try {
    parseExperiment(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("config - every experiment in experiments/ is valid", () => {
    const dir = join(import.meta.dirname, "../../../experiments");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(loadExperiment(join(dir, f)).firms.length).toBeGreaterThan(0);
  });

  it("config - defaults are filled and firms sorted by id", () => {
    const e = parseExperiment(base());
    expect(e.firms.map((f) => f.id)).toEqual(["F", "L"]);
    expect(e.firms[0]?.tier).toBe(1);
    expect(e.market.quantityMax).toBe(200);
    expect(e.tiers).toBe(2);
    expect(e.training.objective).toBe("profit");
  });

  it("config - a missing field is named by its path", () => {
    const raw = base() as Record<string, unknown>;
    delete (raw.market as Record<string, unknown>).demand;
    expect(errorOf(raw)).toMatch(/market\.demand: /);
  });

  it("config - negative b, unknown policy and unknown keys are reported together", () => {
    const raw = base();
    (raw.market.demand as Record<string, unknown>).b = -1;
    (raw.firms[1] as Record<string, unknown>).policy = { kind: "magic" };
    (raw as Record<string, unknown>).sede = 3;
    const msg = errorOf(raw);
    expect(msg).toMatch(/market\.demand\.b: expected a number > 0/);
    expect(msg).toMatch(/firms\[1\]\.policy\.kind: /);
    expect(msg).toMatch(/sede/);
  });

  it("config - a follower with no leader is refused", () => {
    const raw = base();
    raw.firms = [raw.firms[1]!];
    expect(errorOf(raw)).toMatch(/firms\[0\]\.role: a follower needs a leader/);
  });

  it("config - duplicate ids and tier gaps are refused", () => {
    const raw = base();
    raw.firms[1]!.id = "L";
    expect(errorOf(raw)).toMatch(/firms\[1\]\.id: duplicate firm id "L"/);
    const gap = base();
    (gap.firms[1] as Record<string, unknown>).tier = 2;
    expect(errorOf(gap)).toMatch(/tier 1 has no firm/);
  });
});
