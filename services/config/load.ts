import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { CostSpec, DemandSpec, DynamicsSpec } from "../../market/economics/index.js";
import { ConfigError } from "../errors.js";
import { experimentSchema, type FirmConfig, type ParsedExperiment, type PolicyConfig, structureIssues } from "./schema.js";

/** A firm after defaults are filled in (tier, objective, discount). */
export interface ResolvedFirm {
  id: string;
  role: "leader" | "follower";
  tier: number;
  cost: CostSpec;
  policy: PolicyConfig;
  objective: "profit" | "valuation";
  discount: number;
}

/** A validated experiment with every default resolved; firms sorted by id (the wire order). */
export interface Experiment {
  name: string;
  seed: number;
  market: {
    demand: DemandSpec;
    dynamics: DynamicsSpec;
    batch: number;
    roundsPerEpisode: number;
    episodes: number;
    totalRounds: number;
    quantityMax: number;
    deadlineMs: number;
    defaultAction: "last" | "zero" | "exclude";
    maxMisses: number;
  };
  firms: ResolvedFirm[];
  tiers: number;
  training: ParsedExperiment["training"];
  /** How `stackelberg run` lays the run out (firm host processes). */
  deployment?: ParsedExperiment["deployment"];
}

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

/** Quantity range upper end when the config does not set one: twice the demand's choke quantity. */
function defaultQuantityMax(d: DemandSpec): number {
  if (d.kind === "linear") return (2 * d.a) / d.b;
  if (d.kind === "exponential") return 10 / d.b;
  return Number.NaN;
}

/** Validates a parsed YAML/JSON value; throws ConfigError listing every bad field by path. */
export function parseExperiment(raw: unknown, source = "config"): Experiment {
  const r = experimentSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${pathText(i.path)}: ${i.message}`);
    // zod skips cross-field rules when fields fail; check them on the raw input so every problem is reported at once.
    const firms = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).firms : undefined;
    for (const i of structureIssues(firms)) {
      const line = `  ${pathText(i.path)}: ${i.message}`;
      if (!lines.includes(line)) lines.push(line);
    }
    throw new ConfigError(`${source} is not a valid experiment:\n${lines.join("\n")}`);
  }
  const c = r.data;
  const firms: ResolvedFirm[] = c.firms
    .map((f: FirmConfig) => ({
      id: f.id,
      role: f.role,
      tier: f.tier ?? (f.role === "leader" ? 0 : 1),
      cost: f.cost as CostSpec,
      policy: f.policy,
      objective: f.objective ?? c.training.objective,
      discount: f.discount ?? c.training.discount,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    name: c.name,
    seed: c.seed,
    market: {
      demand: c.market.demand as DemandSpec,
      dynamics: c.market.dynamics as DynamicsSpec,
      batch: c.market.batch,
      roundsPerEpisode: c.market.roundsPerEpisode,
      episodes: c.market.episodes,
      totalRounds: c.market.episodes * c.market.roundsPerEpisode,
      quantityMax: c.market.quantityMax ?? defaultQuantityMax(c.market.demand as DemandSpec),
      deadlineMs: c.market.deadlineMs,
      defaultAction: c.market.defaultAction,
      maxMisses: c.market.maxMisses,
    },
    firms,
    tiers: Math.max(...firms.map((f) => f.tier)) + 1,
    training: c.training,
    deployment: c.deployment,
  };
}

/** Reads and validates an experiment file (YAML or JSON). */
export function loadExperiment(file: string): Experiment {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read experiment file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join("\n")}`);
  }
  return parseExperiment(doc.toJS(), file);
}
