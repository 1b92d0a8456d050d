/**
 * One suite, two buses: the market service and firm runtimes in this process, over the in-memory
 * bus and over a real nats-server. Both must reproduce the equilibrium and agree exactly.
 */
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, MemoryBus, NatsBus, runSubjects } from "../../services/bus/index.js";
import { parseExperiment } from "../../services/config/index.js";
import { equilibriaFor } from "../../services/report/equilibria.js";
import { ensureRecordStream, readRecord } from "../../services/report/record.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";
import { playInProcess } from "../fixtures/play.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

const exp = parseExperiment({
  name: "two-buses",
  seed: 3,
  market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 5, episodes: 25, quantityMax: 100 },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "f1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "f2", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
});
const logger = pino({ level: "silent" });

const play = (bus: Bus, runId: string) => playInProcess(bus, exp, runId);

describe("market and firms", () => {
  it("market and firms - the same run over the in-memory bus and NATS reproduces the equilibrium", async () => {
    const eq = equilibriaFor(exp).stackelberg;
    const mem = await play(new MemoryBus(), "mem");
    const bus = await NatsBus.connect({ servers: nats.url, name: "test", logger });
    await ensureRecordStream(await bus.jetstreamManager(), "natsrun");
    // Each firm on its own connection with its own inbox prefix, as the firm command connects.
    const firmBuses = new Map<string, NatsBus>();
    for (const f of exp.firms)
      firmBuses.set(f.id, await NatsBus.connect({ servers: nats.url, name: f.id, logger, inboxPrefix: runSubjects("natsrun").firmInbox(f.id) }));
    const real = await playInProcess(bus, exp, "natsrun", {}, (id) => firmBuses.get(id)!);
    for (const b of firmBuses.values()) await b.close();
    expect(mem.length).toBe(25);
    expect(real.length).toBe(25);
    for (const rounds of [mem, real]) {
      for (const r of rounds) {
        const q = r.outcome.quantities as unknown as Float64Array;
        exp.firms.forEach((f, i) => {
          const want = eq.firms.find((x) => x.id === f.id)!.quantity;
          for (let b = 0; b < 5; b++) expect(Math.abs((q[i * 5 + b] as number) - want)).toBeLessThan(1e-9 * want);
        });
        expect(Array.from(r.outcome.absent ?? [])).toEqual([false, false, false]);
      }
    }
    expect(real.map((r) => Array.from(r.result.prices))).toEqual(mem.map((r) => Array.from(r.result.prices)));
    const nc = await connect({ servers: nats.url });
    const record = await readRecord(nc, "natsrun");
    await nc.close();
    await bus.close();
    expect(record.map((o) => Number(o.round))).toEqual(real.map((r) => r.round));
    expect(record.map((o) => o.prices)).toEqual(real.map((r) => Array.from(r.result.prices)));
  });
});
