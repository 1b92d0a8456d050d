import { describe, expect, it } from "vitest";
import type { RoundStats } from "../../../services/bus/index.js";
import { loadExperiment } from "../../../services/config/index.js";
import { equilibriaFor, referenceFor } from "../../../services/report/equilibria.js";
import { pathDistance, roundMetrics, SummaryBuilder } from "../../../services/report/metrics.js";

const lbdExperiment = loadExperiment("experiments/valuation-learning-by-doing.yaml");
const duopoly = loadExperiment("experiments/duopoly-linear.yaml");

/** A round's statistics with the given mean quantities (firms in experiment order) and a flat profit. */
function stats(round: number, T: number, ids: string[], q: number[]): RoundStats {
  return {
    round,
    episode: Math.floor(round / T),
    step: round % T,
    firmIds: ids,
    quantityMeans: q,
    profitMeans: q.map(() => 100),
    absent: ids.map(() => false),
    priceMean: 50,
  } as RoundStats;
}

describe("summary reference", () => {
  it("summary reference - a learning-by-doing valuation run is compared with the open-loop path, step by step", () => {
    const eq = equilibriaFor(lbdExperiment);
    const ref = referenceFor(lbdExperiment);
    expect(ref.kind).toBe("open-loop-path");
    expect(ref.description).toMatch(/^open-loop equilibrium of the 10-round episode; forward \(valuation, gamma 0.95\)/);
    const T = lbdExperiment.market.roundsPerEpisode;
    const ids = lbdExperiment.firms.map((f) => f.id);
    const path = (id: string) => ref.firms.find((f) => f.id === id)!.quantity;
    // Rounds that play the reference path exactly: distance 0, per round and overall.
    const b = new SummaryBuilder(eq, 40, ref);
    for (let r = 0; r < 40; r++) {
      const m = roundMetrics(
        stats(
          r,
          T,
          ids,
          ids.map((id) => path(id)[r % T]!),
        ),
        eq,
        ref,
      );
      expect(m.distance).toBe(0);
      b.add(m);
    }
    const s = b.build("x", "run", 1, T, { forward: 0.95, myopic: 1 });
    expect(s.reference.kind).toBe("open-loop-path");
    expect(s.final.distance).toBe(0);
    expect(s.final.firms.forward!.referenceQuantityByStep).toEqual(path("forward"));
    expect(s.final.firms.forward!.quantityByStep).toEqual(path("forward"));
    const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    expect(s.final.firms.forward!.equilibriumQuantity).toBeCloseTo(mean(path("forward")), 12);
    expect(s.final.equilibriumPrice).toBeCloseTo(mean(ref.price), 12);
    expect(s.reference.firms.myopic!.value).toBeCloseTo(
      ref.firms.find((f) => f.id === "myopic")!.profit.reduce((a, v) => a + v, 0),
      9,
    );
    expect(s.final.firms.forward!.referenceValue).toBeCloseTo(ref.firms.find((f) => f.id === "forward")!.value, 9);
    // The stage equilibrium is still reported next to it.
    expect(s.equilibria.stackelberg.firms[0]!.quantity).toBeCloseTo(20, 12);

    // Playing the one-shot stage equilibrium (20 each) is now far from the reference.
    const stage = new SummaryBuilder(eq, 40, ref);
    for (let r = 0; r < 40; r++) stage.add(roundMetrics(stats(r, T, ids, [20, 20]), eq, ref));
    const t = stage.build("x", "run", 1, T, { forward: 0.95, myopic: 1 });
    expect(t.final.firms.forward!.distance).toBeCloseTo(pathDistance(new Array(T).fill(20), path("forward")), 12);
    expect(t.final.firms.forward!.distance).toBeGreaterThan(0.3);
  });

  it("summary reference - a static run keeps the stage-equilibrium comparison unchanged", () => {
    const eq = equilibriaFor(duopoly);
    const ref = referenceFor(duopoly);
    expect(ref.kind).toBe("stage-equilibrium");
    const ids = duopoly.firms.map((f) => f.id);
    const withRef = new SummaryBuilder(eq, 20, ref);
    const without = new SummaryBuilder(eq, 20);
    for (let r = 0; r < 20; r++) {
      const q = [44 + (r % 3), 22.5];
      const a = roundMetrics(stats(r, 1, ids, q), eq, ref);
      const b = roundMetrics(stats(r, 1, ids, q), eq);
      expect(a).toEqual(b);
      withRef.add(a);
      without.add(b);
    }
    const s = withRef.build("x", "run", 1);
    const u = without.build("x", "run", 1);
    expect(s.final).toEqual(u.final);
    expect(s.reference.kind).toBe("stage-equilibrium");
    expect(s.reference.description).toMatch(/Stackelberg equilibrium of the one-shot stage game/);
    expect(s.final.firms.leader!.equilibriumQuantity).toBe(45);
  });

  it("summary reference - path distance is relative to the whole path and skips unknown steps", () => {
    expect(pathDistance([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(pathDistance([2, 2], [1, 3])).toBeCloseTo(2 / 4, 15);
    expect(pathDistance([Number.NaN, 4], [1, 2])).toBeCloseTo(2 / 2, 15);
    expect(pathDistance([1, 1], [0, 0])).toBe(1);
    expect(pathDistance([Number.NaN], [1])).toBeNaN();
  });
});
