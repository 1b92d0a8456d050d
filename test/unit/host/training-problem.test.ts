/** TrainingInfo off the wire is checked against the run before a centralized critic indexes it. */
import { describe, expect, it } from "vitest";
import { trainingProblem } from "../../../agents/host/firm-runtime.js";
import type { TrainingInfo } from "../../../services/bus/index.js";

const B = 2;
const C = 4;
const ids = ["follower", "leader"];
const good = (): TrainingInfo => ({
  runId: "r",
  round: 3,
  batch: B,
  firmIds: [...ids],
  observation: new Array(B * C).fill(0),
  nextObservation: new Array(B * C).fill(0),
  quantities: [1, 2, 3, 4],
  profits: [5, 6, 7, 8],
  marginalCosts: [10, 10, 10, 10],
  prices: [50, 51],
});

describe("training problem", () => {
  it("training problem - a TrainingInfo of the run's shape passes", () => {
    expect(trainingProblem(good(), B, C, ids)).toBeUndefined();
  });

  it("training problem - each misfit is named", () => {
    const cases: [Partial<TrainingInfo>, RegExp][] = [
      [{ batch: 3 }, /batch 3/],
      [{ firmIds: ["leader", "follower"] }, /firm ids/],
      [{ firmIds: ["follower"] }, /firm ids/],
      [{ observation: [1] }, /observation values/],
      [{ nextObservation: new Array(B * C + 1).fill(0) }, /next_observation/],
      [{ quantities: [1, 2, 3] }, /3 quantities values, want 4/],
      [{ profits: [1, 2, 3, Number.NaN] }, /non-finite profits/],
      [{ marginalCosts: [] }, /marginal_costs/],
      [{ prices: [1, Number.POSITIVE_INFINITY] }, /non-finite prices/],
    ];
    for (const [patch, want] of cases) expect(trainingProblem({ ...good(), ...patch }, B, C, ids)).toMatch(want);
  });
});
