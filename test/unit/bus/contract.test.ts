import { describe, expect, it } from "vitest";
import {
  columnIndex,
  columnName,
  costFromMsg,
  costMsg,
  DefaultAction,
  defaultActionMsg,
  decode,
  demandFromMsg,
  demandMsg,
  encode,
  OBSERVATION_COLUMNS,
  ObservationColumn,
  observationColumn,
  Role,
  roleFromMsg,
  roleMsg,
} from "../../../services/bus/index.js";
import { ProtocolError } from "../../../services/errors.js";

describe("the contract's observation columns", () => {
  it("names every column after its enum value, and keeps unknown ones as numbers", () => {
    expect(OBSERVATION_COLUMNS.map(columnName)).toEqual(["demand_shift", "last_price", "last_total_quantity", "step_fraction"]);
    expect(columnName(99)).toBe("column_99");
    expect(columnName(ObservationColumn.OBSERVATION_COLUMN_UNSPECIFIED)).toBe("column_0");
  });

  it("reads one column of a row-major table, zeroing cells that are not finite", () => {
    const cols = [ObservationColumn.LAST_PRICE, ObservationColumn.DEMAND_SHIFT];
    const j = columnIndex(cols, ObservationColumn.DEMAND_SHIFT);
    expect(j).toBe(1);
    const table = [50, 1.5, 49, Number.NaN, 48, -2];
    expect(Array.from(observationColumn(table, 3, 2, j) ?? [])).toEqual([1.5, 0, -2]);
    expect(observationColumn(table, 3, 2, columnIndex(cols, ObservationColumn.STEP_FRACTION))).toBeUndefined();
  });

  it("carries a column of a newer contract through the codec unchanged", () => {
    const bytes = encode.registerReply({ accepted: true, params: { observationColumns: [ObservationColumn.LAST_PRICE, 99 as ObservationColumn] } });
    expect(decode.registerReply(bytes).params?.observationColumns).toEqual([ObservationColumn.LAST_PRICE, 99]);
  });
});

describe("the contract's model conversions", () => {
  it("round-trips every demand and cost model", () => {
    for (const d of [
      { kind: "linear", a: 100, b: 1 },
      { kind: "exponential", a: 80, b: 0.02 },
      { kind: "constant-elasticity", A: 100, elasticity: 2 },
    ] as const) {
      expect(demandFromMsg(demandMsg(d))).toEqual(d);
    }
    for (const c of [
      { kind: "linear", c: 10, fixed: 0 },
      { kind: "quadratic", c: 5, d: 0.5, fixed: 2 },
      { kind: "learning-by-doing", c0: 20, cMin: 8, rate: 0.001, fixed: 0 },
    ] as const) {
      expect(costFromMsg(costMsg(c))).toEqual(c);
    }
  });

  it("refuses a message that names no model with a protocol error", () => {
    expect(() => demandFromMsg({})).toThrow(ProtocolError);
    expect(() => costFromMsg({ fixed: 1 })).toThrow(ProtocolError);
  });
});

describe("the contract's enum conversions", () => {
  it("maps roles both ways and reads anything else off the wire as unspecified", () => {
    expect(roleMsg("leader")).toBe(Role.ROLE_LEADER);
    expect(roleMsg("follower")).toBe(Role.ROLE_FOLLOWER);
    expect(roleFromMsg(roleMsg("leader"))).toBe("leader");
    expect(roleFromMsg(roleMsg("follower"))).toBe("follower");
    for (const v of [undefined, null, 0, 3, -1]) expect(roleFromMsg(v)).toBe("unspecified");
  });

  it("maps every default action to its wire value", () => {
    expect([defaultActionMsg("last"), defaultActionMsg("zero"), defaultActionMsg("exclude")]).toEqual([
      DefaultAction.DEFAULT_LAST,
      DefaultAction.DEFAULT_ZERO,
      DefaultAction.DEFAULT_EXCLUDE,
    ]);
  });
});
