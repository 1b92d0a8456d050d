/**
 * What the wire messages mean, beside the codec that carries them: the observation columns (named by
 * the contract's ObservationColumn enum, which the Python and Go clients get from their generated
 * code too) and the conversions between the economics' specs and their wire messages. The market,
 * the firm runtime, the policies and the features take these from here; no column name or model
 * conversion is written anywhere else.
 */
import type { CostSpec, DemandSpec } from "../../market/economics/index.js";
import { ProtocolError } from "../errors.js";
import type { CostMsg, DemandMsg } from "./codec.js";
import { stackelberg } from "./gen/stackelberg.js";

/** A column of MoveRequest.observation (one public value per market instance). */
export const ObservationColumn = stackelberg.v1.ObservationColumn;
export type ObservationColumn = stackelberg.v1.ObservationColumn;

/** Every column this version of the contract defines, in enum order. */
export const OBSERVATION_COLUMNS: readonly ObservationColumn[] = [
  ObservationColumn.DEMAND_SHIFT,
  ObservationColumn.LAST_PRICE,
  ObservationColumn.LAST_TOTAL_QUANTITY,
  ObservationColumn.STEP_FRACTION,
];

/**
 * The display name of a column: its enum value name in lower case ("demand_shift", ...). A column
 * from a newer contract that this build does not know is named "column_<number>".
 */
export function columnName(c: number): string {
  const name = (ObservationColumn as unknown as Record<number, string | undefined>)[c];
  return name && c !== ObservationColumn.OBSERVATION_COLUMN_UNSPECIFIED ? name.toLowerCase() : `column_${c}`;
}

/** Where column `c` sits in a run's observation rows, or -1 when the run does not carry it. */
export function columnIndex(columns: readonly number[], c: ObservationColumn): number {
  return columns.indexOf(c);
}

/**
 * Column `j` of a row-major B x C observation table, or undefined when j < 0 (a column the run does
 * not carry). Missing or non-finite cells read as 0: the table came off the wire.
 */
export function observationColumn(obs: ArrayLike<number>, B: number, C: number, j: number): Float64Array | undefined {
  if (j < 0 || j >= C) return undefined;
  const out = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    const v = obs[i * C + j];
    out[i] = v !== undefined && Number.isFinite(v) ? v : 0;
  }
  return out;
}

/** The wire form of a demand model. */
export function demandMsg(d: DemandSpec): DemandMsg {
  switch (d.kind) {
    case "linear":
      return { linear: { a: d.a, b: d.b } };
    case "exponential":
      return { exponential: { a: d.a, b: d.b } };
    case "constant-elasticity":
      return { constantElasticity: { scale: d.A, elasticity: d.elasticity } };
  }
}

/** The wire form of a cost model. */
export function costMsg(c: CostSpec): CostMsg {
  const fixed = c.fixed ?? 0;
  switch (c.kind) {
    case "linear":
      return { linear: { c: c.c }, fixed };
    case "quadratic":
      return { quadratic: { c: c.c, d: c.d }, fixed };
    case "learning-by-doing":
      return { learningByDoing: { c0: c.c0, cMin: c.cMin, rate: c.rate }, fixed };
  }
}

/** Inverse of demandMsg (for firms and outside tools that read RunParams). */
export function demandFromMsg(m: DemandMsg): DemandSpec {
  if (m.linear) return { kind: "linear", a: m.linear.a ?? 0, b: m.linear.b ?? 0 };
  if (m.exponential) return { kind: "exponential", a: m.exponential.a ?? 0, b: m.exponential.b ?? 0 };
  if (m.constantElasticity) return { kind: "constant-elasticity", A: m.constantElasticity.scale ?? 0, elasticity: m.constantElasticity.elasticity ?? 0 };
  throw new ProtocolError("RunParams: the demand message names no demand model");
}

/** Inverse of costMsg. */
export function costFromMsg(m: CostMsg): CostSpec {
  const fixed = m.fixed ?? 0;
  if (m.linear) return { kind: "linear", c: m.linear.c ?? 0, fixed };
  if (m.quadratic) return { kind: "quadratic", c: m.quadratic.c ?? 0, d: m.quadratic.d ?? 0, fixed };
  if (m.learningByDoing)
    return { kind: "learning-by-doing", c0: m.learningByDoing.c0 ?? 0, cMin: m.learningByDoing.cMin ?? 0, rate: m.learningByDoing.rate ?? 0, fixed };
  throw new ProtocolError("RunParams: a firm's cost message names no cost model");
}

/** A firm's role as the configuration names it. */
export type RoleName = "leader" | "follower";

/** The wire form of a role. */
export function roleMsg(role: RoleName): stackelberg.v1.Role {
  return role === "leader" ? stackelberg.v1.Role.ROLE_LEADER : stackelberg.v1.Role.ROLE_FOLLOWER;
}

/** The role a message claims, from its wire enum ("unspecified" for anything else: it came off the wire). */
export function roleFromMsg(role: number | null | undefined): RoleName | "unspecified" {
  return role === stackelberg.v1.Role.ROLE_LEADER ? "leader" : role === stackelberg.v1.Role.ROLE_FOLLOWER ? "follower" : "unspecified";
}

/** What the market does for a firm that misses a deadline, as the configuration names it. */
export type DefaultActionName = "last" | "zero" | "exclude";

/** The wire form of a default action. */
export function defaultActionMsg(a: DefaultActionName): stackelberg.v1.DefaultAction {
  return a === "last"
    ? stackelberg.v1.DefaultAction.DEFAULT_LAST
    : a === "zero"
      ? stackelberg.v1.DefaultAction.DEFAULT_ZERO
      : stackelberg.v1.DefaultAction.DEFAULT_EXCLUDE;
}
