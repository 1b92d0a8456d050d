/** The phase plan of an alternating schedule, and where exploring leaders play in it. */
import { describe, expect, it } from "vitest";
import { exploreWidthOf, instanceShareOf } from "../../../agents/learning/options.js";
import { parseExperiment } from "../../../services/config/index.js";
import { instancesOf, phasesOf } from "../../../services/config/phases.js";

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

  it("splitInstances: the firms learning in a phase take turns over the instances, each in one share in every phase it learns in", () => {
    const two = (schedule: Record<string, unknown>, batch = 8) =>
      parseExperiment({
        market: { demand: { kind: "linear", a: 100, b: 1 }, episodes: 520, batch },
        firms: [
          { id: "L1", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
          { id: "L2", role: "leader", cost: { kind: "linear", c: 15 }, policy: { kind: "ppo" } },
          { id: "F1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
          { id: "F2", role: "follower", cost: { kind: "linear", c: 15 }, policy: { kind: "ppo" } },
          { id: "F3", role: "follower", cost: { kind: "linear", c: 20 }, policy: { kind: "ppo" } },
        ],
        training: { schedule: { kind: "alternating", phaseRounds: 100, ...schedule } },
      });
    const e = two({ splitInstances: true });
    expect(phasesOf(e).map((p) => [p.name, p.splitInstances])).toEqual([
      ["train-followers", true],
      ["train-leaders", true],
      ["train-followers", true],
      ["train-leaders", true],
      ["train-followers", true],
      ["evaluate", undefined],
    ]);
    const shares = Object.fromEntries(e.firms.map((f) => [f.id, instanceShareOf(e, f)]));
    expect(shares).toEqual({
      L1: { slot: 0, of: 2 },
      L2: { slot: 1, of: 2 },
      F1: { slot: 0, of: 3 },
      F2: { slot: 1, of: 3 },
      F3: { slot: 2, of: 3 },
    });
    // Every instance has exactly one learning follower in it.
    const cover = ["F1", "F2", "F3"].flatMap((id) => instancesOf(shares[id] as { slot: number; of: number }, 8)).sort((a, b) => a - b);
    expect(cover).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(instancesOf({ slot: 2, of: 3 }, 8)).toEqual([2, 5]);
    // On by default; off when asked, and when B leaves a learning firm no instance.
    expect(instanceShareOf(two({}), e.firms[0]!)).toEqual({ slot: 0, of: 3 });
    const off = two({ splitInstances: false });
    expect(off.firms.every((f) => instanceShareOf(off, f).of === 1)).toBe(true);
    const small = two({ splitInstances: true }, 2);
    expect(Object.fromEntries(small.firms.map((f) => [f.id, instanceShareOf(small, f).of]))).toEqual({ L1: 2, L2: 2, F1: 1, F2: 1, F3: 1 });
  });
});
