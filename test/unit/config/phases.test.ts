/** The phase plan of an alternating schedule, and where exploring leaders play in it. */
import { describe, expect, it } from "vitest";
import { exploreWidthOf, instanceShareOf } from "../../../agents/learning/options.js";
import { parseExperiment } from "../../../services/config/index.js";
import { type InstanceShare, instancesOf, phasesOf } from "../../../services/config/phases.js";

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

  it("splitInstances: the PPO firms learning in a phase take turns over the instances, in id order whatever the file's order, each in one share", () => {
    const firm = (id: string, role: string, kind = "ppo") => ({ id, role, cost: { kind: "linear", c: 10 }, policy: { kind } });
    const mk = (schedule: Record<string, unknown>, batch = 8, firms = [firm("F3", "follower"), firm("L2", "leader"), firm("F1", "follower"), firm("L1", "leader"), firm("F2", "follower")]) =>
      parseExperiment({
        market: { demand: { kind: "linear", a: 100, b: 1 }, episodes: 520, batch },
        firms,
        training: { schedule: { kind: "alternating", phaseRounds: 100, ...schedule } },
      });
    const e = mk({});
    expect(phasesOf(e).map((p) => [p.name, p.sharing])).toEqual([
      ["train-followers", ["F1", "F2", "F3"]],
      ["train-leaders", ["L1", "L2"]],
      ["train-followers", ["F1", "F2", "F3"]],
      ["train-leaders", ["L1", "L2"]],
      ["train-followers", ["F1", "F2", "F3"]],
      ["evaluate", undefined],
    ]);
    const shareOf = (x: typeof e) => Object.fromEntries(x.firms.map((f) => [f.id, instanceShareOf(x, f)]));
    const shares = shareOf(e);
    expect(shares).toEqual({
      L1: { slot: 0, of: 2 },
      L2: { slot: 1, of: 2 },
      F1: { slot: 0, of: 3 },
      F2: { slot: 1, of: 3 },
      F3: { slot: 2, of: 3 },
    });
    // Every instance has exactly one learning follower in it.
    const cover = ["F1", "F2", "F3"].flatMap((id) => instancesOf(shares[id] as InstanceShare, 8)).sort((a, b) => a - b);
    expect(cover).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(instancesOf({ slot: 2, of: 3 }, 8)).toEqual([2, 5]);
    // Off when asked, and when B leaves a sharing firm fewer than two instances (B < 2n).
    expect(Object.values(shareOf(mk({ splitInstances: false }))).every((x) => x.of === 1)).toBe(true);
    expect(Object.fromEntries(Object.entries(shareOf(mk({}, 5))).map(([id, x]) => [id, x.of]))).toEqual({ L1: 2, L2: 2, F1: 1, F2: 1, F3: 1 });
    expect(instancesOf({ slot: 1, of: 3 }, 5)).toEqual([0, 1, 2, 3, 4]);
    // Only PPO firms take turns: a MAPPO or fixed tier-mate plays in every instance and is not counted.
    const mixed = mk({}, 8, [firm("L", "leader"), firm("F1", "follower"), firm("F2", "follower", "mappo"), firm("F3", "follower")]);
    expect(phasesOf(mixed)[0]?.sharing).toEqual(["F1", "F3"]);
    expect(shareOf(mixed)).toEqual({ L: { slot: 0, of: 1 }, F1: { slot: 0, of: 2 }, F2: { slot: 0, of: 1 }, F3: { slot: 1, of: 2 } });
    const alone = mk({}, 8, [firm("L", "leader"), firm("F1", "follower"), firm("F2", "follower", "mappo")]);
    expect(phasesOf(alone).every((p) => p.sharing === undefined)).toBe(true);
  });
});
