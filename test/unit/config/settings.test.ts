/** A run folder's resolved settings: recorded at the start, checked on resume and reuse. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseExperiment } from "../../../services/config/index.js";
import { checkRunSettings, resolvedSettings, SETTINGS_FILE, settingsDiff } from "../../../services/config/settings.js";

const exp = (schedule: Record<string, unknown>) =>
  parseExperiment({
    market: { demand: { kind: "linear", a: 100, b: 1 }, episodes: 520, batch: 8 },
    firms: [
      { id: "L", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "F", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 100, ...schedule } },
  });

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("run settings", () => {
  it("settingsDiff names the paths that differ", () => {
    expect(settingsDiff({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } })).toEqual(["b.c[1]"]);
    expect(settingsDiff({ a: 1, g: 2 }, { a: 1, d: true })).toEqual(["g (gone)", "d (new)"]);
    expect(settingsDiff(resolvedSettings(exp({})), resolvedSettings(exp({})))).toEqual([]);
    expect(settingsDiff(resolvedSettings(exp({})), resolvedSettings(exp({ splitInstances: false })))).toEqual([
      "training.schedule.splitInstances",
    ]);
  });

  it("a run whose config now resolves differently (a changed default) is refused; a missing record only when required", () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-settings-"));
    dirs.push(dir);
    expect(() => checkRunSettings(dir, exp({}), "--reuse", true)).toThrow(/no settings\.json/);
    expect(() => checkRunSettings(dir, exp({}), "--resume", false)).not.toThrow();
    // Recorded when exploreWidth defaulted to 1; read today with the default 0.2.
    writeFileSync(join(dir, SETTINGS_FILE), JSON.stringify(resolvedSettings(exp({ exploreWidth: 1 }))));
    expect(() => checkRunSettings(dir, exp({}), "--resume", false)).toThrow(/training\.schedule\.exploreWidth/);
    expect(() => checkRunSettings(dir, exp({ exploreWidth: 1 }), "--resume", false)).not.toThrow();
    // Recorded before a setting existed (here: splitInstances missing from the record).
    const before = resolvedSettings(exp({})) as { training: { schedule: Record<string, unknown> } };
    delete before.training.schedule.splitInstances;
    writeFileSync(join(dir, SETTINGS_FILE), JSON.stringify(before));
    expect(() => checkRunSettings(dir, exp({}), "--resume", false)).toThrow(/training\.schedule\.splitInstances \(new\).*version that started the run/);
    writeFileSync(join(dir, SETTINGS_FILE), "{not json");
    expect(() => checkRunSettings(dir, exp({}), "--resume", false)).toThrow(/not readable JSON/);
  });
});
