/**
 * `stackelberg evaluate RUN_DIR`: decentralized execution of a trained run's policies. Plays the
 * run's experiment again for a few rounds with every firm frozen and greedy (schedule `evaluation`):
 * each learner loads its checkpoint from the trained run, the market publishes no training-only
 * message and the server lets no firm subscribe to one. The summary reports the distance to the
 * equilibrium and the profits under decentralized execution.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { loadExperiment } from "../config/index.js";
import { checkRunSettings } from "../config/settings.js";
import { ConfigError } from "../errors.js";
import { type RunOptions, runExperiment } from "../launcher/run.js";
import type { Summary } from "../report/metrics.js";

export interface EvaluateOptions extends Pick<RunOptions, "logger" | "progress" | "seed"> {
  /** Rounds to play (rounded up to whole episodes; default 100). */
  rounds?: number;
  /** Output folder (default <run dir>-evaluation). */
  out?: string;
}

/** Output folder of an evaluation of `runDir` when none is given. */
export function defaultEvaluationDir(runDir: string): string {
  const abs = resolve(runDir);
  return join(dirname(abs), `${basename(abs)}-evaluation`);
}

/** Evaluates the trained policies of `runDir`; returns the evaluation run's summary and folder. */
export async function evaluateRun(runDir: string, o: EvaluateOptions): Promise<{ summary: Summary; out: string }> {
  const src = resolve(runDir);
  const config = join(src, "config.yaml");
  const checkpoints = join(src, "checkpoints");
  if (!existsSync(config)) throw new ConfigError(`${runDir}: no config.yaml there (not a run output folder)`);
  if (!existsSync(checkpoints)) throw new ConfigError(`${runDir}: no checkpoints/ there (the run saved no trained policies)`);
  const rounds = o.rounds ?? 100;
  if (!Number.isInteger(rounds) || rounds < 1) throw new ConfigError(`--rounds must be a positive integer (got ${rounds})`);
  const exp = loadExperiment(config);
  // The policies were trained under the settings the run recorded; today's defaults must agree.
  checkRunSettings(src, exp, "evaluate", false);
  const out = resolve(o.out ?? defaultEvaluationDir(src));
  if (out === src) throw new ConfigError("--out must not be the trained run's folder");
  // A fresh folder: stale checkpoints of an earlier attempt must not mix with the trained run's.
  if (existsSync(out) && readdirSync(out).length > 0) throw new ConfigError(`${out} is not empty; choose another --out or remove it`);
  mkdirSync(out, { recursive: true });
  const episodes = Math.max(1, Math.ceil(rounds / exp.market.roundsPerEpisode));
  // The trained run's experiment, with every firm frozen for the whole run.
  const doc = parseDocument(readFileSync(config, "utf8"));
  doc.set("name", `${exp.name}-evaluation`);
  doc.setIn(["market", "episodes"], episodes);
  doc.setIn(["training", "schedule"], doc.createNode({ kind: "evaluation" }));
  const evalConfig = join(out, "evaluation.yaml");
  writeFileSync(
    evalConfig,
    `# Decentralized execution of the policies trained in ${src} (stackelberg evaluate):\n# every firm frozen and greedy, no training-only message.\n${doc.toString()}`,
  );
  loadExperiment(evalConfig); // refuses a derived file that does not validate, before anything starts
  cpSync(checkpoints, join(out, "checkpoints"), { recursive: true });
  writeFileSync(
    join(out, "evaluation.json"),
    `${JSON.stringify({ trainedRun: src, roundsAsked: rounds, rounds: episodes * exp.market.roundsPerEpisode }, null, 2)}\n`,
  );
  const summary = await runExperiment(evalConfig, {
    out,
    logger: o.logger,
    ...(o.progress !== undefined ? { progress: o.progress } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
  return { summary, out };
}
