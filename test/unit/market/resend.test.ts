/**
 * Asking again after a fault: the round machine names the firms of the open tier that have not
 * answered and gives the tier a fresh deadline; a firm asked again for a round it answered sends
 * the same submission again, without deciding a second time.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { FirmRuntime } from "../../../agents/index.js";
import type { ActContext, Policy } from "../../../agents/policy.js";
import { observationColumns, runParams } from "../../../market/service/index.js";
import { RoundMachine } from "../../../market/service/round-machine.js";
import { decode, encode, MemoryBus, runSubjects } from "../../../services/bus/index.js";
import { roleOfTier } from "../../../services/bus/protocol.js";
import { parseExperiment } from "../../../services/config/index.js";

describe("asking again", () => {
  it("asking again - the machine names the open tier's firms that have not answered, and restarts the tier's deadline", () => {
    const firms = [
      { id: "f1", tier: 1 },
      { id: "f2", tier: 1 },
      { id: "leader", tier: 0 },
    ];
    const m = new RoundMachine({ firms, batch: 1, quantityMax: 100, deadlineMs: 1000, defaultAction: "last", maxMisses: 3 });
    expect(m.unanswered()).toEqual([]);
    expect(m.restartDeadline(0)).toBeUndefined();
    for (const f of firms) m.register(f.id, f.tier, roleOfTier(f.tier));
    m.startRound(0, 0);
    expect(m.unanswered()).toEqual([2]);
    m.submit("leader", "leader", 0, [40], 10);
    expect(m.unanswered()).toEqual([0, 1]);
    m.submit("f2", "f2", 0, [20], 20);
    expect(m.unanswered()).toEqual([0]);
    // Cut off at t = 20 until t = 5000: the tier's deadline (1010) restarts from then.
    expect(m.restartDeadline(5000)).toBe(6000);
    expect(m.tick(5500)).toEqual([]);
    expect(m.submit("f1", "f1", 0, [21], 5600).some((d) => d.kind === "clear")).toBe(true);
  });

  it("asking again - a firm asked twice for a round sends the same submission twice and decides once", async () => {
    const exp = parseExperiment({
      name: "re-ask",
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 22.5 } },
      ],
    });
    const runId = "re-ask";
    const s = runSubjects(runId);
    const bus = new MemoryBus();
    // The market's side of registration.
    bus.subscribe(s.registerAll, (m) => m.respond(encode.registerReply({ accepted: true, params: runParams(exp, runId), firmIndex: 1, currentRound: 0 })));
    const submitted: Array<{ round: number; q: number[] }> = [];
    bus.subscribe(s.submit("leader"), (m) => {
      const sub = decode.submission(m.data);
      submitted.push({ round: Number(sub.round), q: Array.from(sub.quantities ?? []) });
    });
    let acts = 0;
    let draw = 0;
    const policy: Policy = {
      kind: "counting",
      // A new draw each decision: a second decision for the same round would differ.
      act: (ctx: ActContext) => {
        acts++;
        return new Float64Array(ctx.committedTotal.length).fill(++draw);
      },
    };
    const firm = new FirmRuntime({
      bus: bus.connection(s.firmInbox("leader")),
      runId,
      firmId: "leader",
      role: "leader",
      tier: 0,
      logger: pino({ level: "silent" }),
      makePolicy: () => policy,
    });
    await firm.start();
    const move = (round: number) =>
      bus.publish(
        s.move(0),
        encode.move({
          runId,
          round,
          tier: 0,
          batch: 2,
          deadlineUnixMs: Date.now() + 1000,
          observation: new Array(2 * observationColumns(exp).length).fill(0),
          tierFirmIds: ["leader"],
        }),
      );
    move(0);
    move(0);
    move(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(acts).toBe(2);
    expect(submitted).toEqual([
      { round: 0, q: [1, 1] },
      { round: 0, q: [1, 1] },
      { round: 1, q: [2, 2] },
    ]);
    await firm.stop();
  });
});
