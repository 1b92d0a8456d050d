/**
 * What a run was trained with, after every default was filled in. A run folder keeps the
 * experiment file as written (config.yaml) and, next to it, these resolved settings
 * (settings.json), so that a later version of the library whose defaults changed cannot
 * silently resume or reuse the run under other settings.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import type { Experiment } from "./load.js";

/** The file in a run folder that holds the resolved settings. */
export const SETTINGS_FILE = "settings.json";

/** The settings that decide what a run does: market, firms and training, defaults filled in. */
export function resolvedSettings(exp: Experiment): unknown {
  return JSON.parse(JSON.stringify({ market: exp.market, firms: exp.firms, training: exp.training }));
}

/**
 * Paths (a.b[2].c) where two resolved settings differ, at most `limit` of them; a path only `b`
 * has is marked "(new)", one only `a` has "(gone)".
 */
export function settingsDiff(a: unknown, b: unknown, limit = 5, path = ""): string[] {
  if (Object.is(a, b)) return [];
  if (a === undefined) return [`${path} (new)`];
  if (b === undefined) return [`${path} (gone)`];
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (!obj(a) || !obj(b) || Array.isArray(a) !== Array.isArray(b)) return [path || "(root)"];
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (out.length >= limit) break;
    const p = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    // The call returns at most limit - out.length paths.
    out.push(...settingsDiff(a[k], b[k], limit - out.length, p));
  }
  return out;
}

/**
 * Refuses to go on with the run in `dir` when `exp` (its config.yaml as this version reads it)
 * resolves to other settings than the ones the run started with. A run folder from before
 * settings.json existed is refused when `required`, accepted otherwise.
 */
export function checkRunSettings(dir: string, exp: Experiment, what: string, required: boolean): void {
  const file = join(dir, SETTINGS_FILE);
  if (!existsSync(file)) {
    if (required)
      throw new ConfigError(
        `${what}: ${dir} has no ${SETTINGS_FILE} (it was made before runs recorded their resolved settings), so its settings cannot be checked; run it again`,
      );
    return;
  }
  let recorded: unknown;
  try {
    recorded = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`${what}: ${file} is not readable JSON (${(err as Error).message})`);
  }
  const diff = settingsDiff(recorded, resolvedSettings(exp));
  if (diff.length > 0)
    throw new ConfigError(
      `${what}: ${dir}/config.yaml resolves to other settings than the run started with (${diff.join(", ")}): a default changed or a setting was added since; write changed settings into config.yaml as ${SETTINGS_FILE} records them, or use the version that started the run (run.json)`,
    );
}
