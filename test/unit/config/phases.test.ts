/** The phase plan of an alternating schedule, and where exploring leaders play in it. */
import { describe, expect, it } from "vitest";
import { exploreWidthOf } from "../../../agents/learning/options.js";
import { parseExperiment } from "../../../services/config/index.js";
import { phasesOf } from "../../../services/config/phases.js";

const exp = (schedule: Record<string, unknown>) =>
  parseExperiment({
    market: { demand: { kind: "linear", a: 100, b: 1 }, episodes: 520 },
    firms: [
      { id: "L", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
      { id: "F", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
    ],
    training: { schedule: { kind: "alternating", phaseRounds: 100, ...schedule } },
  });

describe("alternating phase plan", () => {
  it("narrows the leaders' exploration only in follower phases after a leader phase", () => {
    const phases = phasesOf(exp({ exploreWidth: 0.2 }));
    expect(phases.map((p) => [p.name, p.startRound, p.exploreWidth])).toEqual([
      ["train-followers", 0, undefined],
      ["train-leaders", 100, undefined],
      ["train-followers", 200, 0.2],
      ["train-leaders", 300, undefined],
      ["train-followers", 400, 0.2],
      ["evaluate", 500, undefined],
    ]);
    expect(phases[2]?.exploring).toEqual(["L"]);
    const at = exploreWidthOf(exp({ exploreWidth: 0.2 }));
    expect([at(0), at(150), at(200), at(299), at(450), at(510)]).toEqual([1, 1, 0.2, 0.2, 0.2, 1]);
  });

  it("starting with a leader phase, the window narrows only after a whole-range follower phase and a leader phase after it", () => {
    const phases = phasesOf(exp({ exploreWidth: 0.5, firstPhase: "train-leaders" }));
    expect(phases.map((p) => [p.name, p.exploreWidth])).toEqual([
      ["train-leaders", undefined],
      ["train-followers", undefined],
      ["train-leaders", undefined],
      ["train-followers", 0.5],
      ["train-leaders", undefined],
      ["evaluate", undefined],
    ]);
  });

  it("narrows to 0.2 of the range by default; exploreWidth 1 keeps the whole range", () => {
    expect(phasesOf(exp({})).map((p) => p.exploreWidth)).toEqual([undefined, undefined, 0.2, undefined, 0.2, undefined]);
    expect(phasesOf(exp({ exploreWidth: 1 })).every((p) => p.exploreWidth === undefined)).toBe(true);
  });

  it("refuses a width outside (0, 1]", () => {
    for (const w of [0, -0.1, 1.5]) expect(() => exp({ exploreWidth: w })).toThrow(/exploreWidth/);
  });
});
