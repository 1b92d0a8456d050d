/**
 * Move requests without the tier's firm ids (CAPABILITIES.compactMove): the market leaves the names
 * out only when every firm of the tier reads such requests, and a firm then finds its own rows by
 * its place in the tier.
 */
import { describe, expect, it } from "vitest";
import { FirmRuntime } from "../../../agents/index.js";
import type { ActContext, Policy } from "../../../agents/policy.js";
import { MarketService } from "../../../market/service/index.js";
import {
  decode,
  encode,
  MemoryBus,
  type MoveRequest,
  PROTOCOL_VERSION,
  roleMsg,
  runSubjects,
} from "../../../services/bus/index.js";
import { parseExperiment } from "../../../services/config/index.js";
import { silent } from "../../fixtures/play.js";

const B = 2;
const exp = parseExperiment({
  name: "compact",
  market: {
    demand: { kind: "linear", a: 100, b: 1 },
    batch: B,
    roundsPerEpisode: 3,
    episodes: 2,
    quantityMax: 100,
    // Adjustment costs make the market send each firm's last quantity: rows the firm must find.
    dynamics: { adjustmentCost: 0.1 },
  },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 30 } },
    { id: "f1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 1 } },
    { id: "f2", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 1 } },
    { id: "f3", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 1 } },
  ],
});

/** A policy that plays a quantity of its own per round and instance, and keeps what it was told. */
function recording(base: number, seen: ActContext[]): Policy {
  return {
    kind: "recording",
    act(ctx) {
      seen.push(ctx);
      return Float64Array.from({ length: B }, (_, i) => base + ctx.step + i / 10);
    },
  };
}

/** A firm that speaks the protocol by hand and announces no capability (an older client). */
async function legacyFirm(bus: MemoryBus, runId: string, firmId: string, quantity: number): Promise<void> {
  const s = runSubjects(runId);
  const conn = bus.connection(s.firmInbox(firmId));
  conn.subscribe(s.move(1), (m) => {
    const req = decode.move(m.data);
    if (!(req.tierFirmIds ?? []).includes(firmId)) return;
    conn.publish(s.submit(firmId), encode.submission({ runId, firmId, round: req.round, quantities: [quantity, quantity] }));
  });
  await conn.request(
    s.register(firmId),
    encode.register({ protocolVersion: PROTOCOL_VERSION, firmId, role: roleMsg("follower"), tier: 1 }),
    2000,
  );
}

async function play(legacy: string | undefined) {
  const bus = new MemoryBus();
  const runId = legacy ? "mixed" : "compact";
  const s = runSubjects(runId);
  const moves: MoveRequest[] = [];
  bus.subscribe(s.move(1), (m) => moves.push(decode.move(m.data)));
  const absent: boolean[][] = [];
  const market = new MarketService({
    bus,
    experiment: exp,
    runId,
    logger: silent,
    onCleared: (r) => absent.push([...(r.outcome.absent ?? [])]),
  });
  const done = market.run();
  const seen = new Map<string, ActContext[]>();
  const firms = exp.firms
    .filter((f) => f.id !== legacy)
    .map((f) => {
      const k = exp.firms.indexOf(f);
      const log: ActContext[] = [];
      seen.set(f.id, log);
      return new FirmRuntime({
        bus: bus.connection(s.firmInbox(f.id)),
        runId,
        firmId: f.id,
        role: f.role,
        tier: f.tier,
        logger: silent,
        makePolicy: () => recording(10 * (k + 1), log),
      });
    });
  await Promise.all([...firms.map((f) => f.start()), ...(legacy ? [legacyFirm(bus, runId, legacy, 7)] : [])]);
  await done;
  await Promise.all(firms.map((f) => f.done()));
  await Promise.all(firms.map((f) => f.stop()));
  return { moves, absent, seen };
}

describe("compact move requests", () => {
  it("compact move requests - with every follower announcing compact-move, move requests name no firm and every firm acts every round", async () => {
    const { moves, absent, seen } = await play(undefined);
    expect(moves.length).toBe(6);
    for (const m of moves) {
      expect(m.tierFirmIds ?? []).toEqual([]);
      // Still one row of last quantities per firm of the tier.
      expect((m.ownLastQuantity ?? []).length).toBe(3 * B);
    }
    for (const a of absent) expect(a).toEqual([false, false, false, false]);
    // Each follower read its own row: its last quantity is what it played in the previous step.
    for (const id of ["f1", "f2", "f3"]) {
      const ctxs = seen.get(id) ?? [];
      expect(ctxs.length).toBe(6);
      for (let r = 1; r < ctxs.length; r++) {
        const ctx = ctxs[r]!;
        const want = ctx.step === 0 ? [0, 0] : Array.from({ length: B }, (_, i) => quantityOf(id, ctx.step - 1, i));
        expect(Array.from(ctx.ownLastQuantity)).toEqual(want);
      }
    }
  });

  it("compact move requests - a firm that does not announce compact-move keeps the names in its tier's move requests", async () => {
    const { moves, absent } = await play("f2");
    expect(moves.length).toBe(6);
    for (const m of moves) expect(m.tierFirmIds).toEqual(["f1", "f2", "f3"]);
    for (const a of absent) expect(a).toEqual([false, false, false, false]);
  });
});

/** What firm `id` played at step `step` in instance `i` (see recording(): base 10 x its place among the firms). */
function quantityOf(id: string, step: number, i: number): number {
  const k = exp.firms.findIndex((f) => f.id === id);
  return 10 * (k + 1) + step + i / 10;
}
