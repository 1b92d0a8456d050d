/** The firm runtime checks a move request off the wire before any policy indexes it. */
import { describe, expect, it } from "vitest";
import { moveProblem } from "../../../agents/host/firm-runtime.js";
import type { MoveRequest } from "../../../services/bus/index.js";

const B = 3;
const good = (m: Partial<MoveRequest> = {}): MoveRequest => ({
  round: 7,
  batch: B,
  tierFirmIds: ["f1", "f2"],
  observation: [],
  committed: [{ tier: 0, firmIds: ["lead"], quantities: [40, 45, 50] }],
  ...m,
});

describe("firm runtime - move requests off the wire", () => {
  it("firm runtime - accepts a well-formed move request, per-firm rows empty or full", () => {
    expect(moveProblem(good(), B, 0)).toBeUndefined();
    expect(moveProblem(good({ observation: [1, 2, 3], ownLastQuantity: new Array(2 * B).fill(1) }), B, 1)).toBeUndefined();
  });

  it("firm runtime - names what is wrong with one that does not match the run", () => {
    const cases: Array<[Partial<MoveRequest>, number, RegExp]> = [
      [{ batch: B + 1 }, 0, /batch 4, the run's batch is 3/],
      [{ observation: [1, 1, 1] }, 0, /3 observation values, want 3 x 0/],
      [{ observation: [1, Number.NaN, 1] }, 1, /non-finite observation value/],
      [{ committed: [{ tier: 0, firmIds: ["lead"], quantities: [40, 45] }] }, 0, /2 committed quantities of tier 0, want 1 firms x 3/],
      [{ committed: [{ tier: 0, firmIds: ["lead"], quantities: [40, Number.POSITIVE_INFINITY, 1] }] }, 0, /non-finite committed quantity/],
      [{ ownLastQuantity: [1, 2, 3] }, 0, /3 own_last_quantity values, want 6/],
      [{ ownMarginalCost: [1, 1, 1, 1, 1, Number.NaN] }, 0, /non-finite own_marginal_cost value/],
    ];
    for (const [m, C, want] of cases) expect(moveProblem(good(m), B, C)).toMatch(want);
  });

  it("firm runtime - a move request without names (compact-move) has one row per firm of the tier", () => {
    const compact = good({ tierFirmIds: [], ownLastQuantity: new Array(3 * B).fill(1) });
    expect(moveProblem(compact, B, 0, 3)).toBeUndefined();
    expect(moveProblem(compact, B, 0, 2)).toMatch(/9 own_last_quantity values, want 6/);
  });
});
