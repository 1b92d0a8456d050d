import { describe, expect, it } from "vitest";
import { MemoryBus } from "../../../services/bus/index.js";
import { tokensMatch as subjectMatches } from "../../../services/bus/subjects.js";

describe("memory bus", () => {
  it("memory bus - wildcards follow NATS semantics", () => {
    const m = (p: string, s: string) => subjectMatches(p.split("."), s.split("."));
    expect(m("stk.r.submit.*", "stk.r.submit.a")).toBe(true);
    expect(m("stk.r.submit.*", "stk.r.submit.a.b")).toBe(false);
    expect(m("stk.>", "stk.r.submit.a")).toBe(true);
    expect(m("stk.>", "stk")).toBe(false);
    expect(m("stk.r.outcome", "stk.r.outcomes")).toBe(false);
  });

  it("memory bus - delivers asynchronously in publication order and answers requests", async () => {
    const bus = new MemoryBus();
    const seen: string[] = [];
    bus.subscribe("a.*", (msg) => seen.push(`${msg.subject}:${msg.data[0]}`));
    bus.subscribe("svc", (msg) => msg.respond(new Uint8Array([msg.data[0]! + 1])));
    bus.publish("a.x", new Uint8Array([1]));
    bus.publish("a.y", new Uint8Array([2]));
    expect(seen).toEqual([]);
    const reply = await bus.request("svc", new Uint8Array([41]), 1000);
    expect(reply[0]).toBe(42);
    expect(seen).toEqual(["a.x:1", "a.y:2"]);
    await expect(bus.request("nobody", new Uint8Array(), 50)).rejects.toThrow(/no responders/);
    expect(await bus.record("a.r", new Uint8Array([7]), { msgId: "id1" })).toEqual({ seq: 1, duplicate: false });
    expect(await bus.record("a.r", new Uint8Array([8]), { msgId: "id1" })).toEqual({ seq: 1, duplicate: true });
    bus.publishRecorded("a.r", new Uint8Array([9]), { msgId: "id2" });
    bus.publishRecorded("a.r", new Uint8Array([9]), { msgId: "id2" });
    expect(await bus.record("a.s", new Uint8Array([10]), { msgId: "id3" })).toEqual({ seq: 3, duplicate: false });
    expect(bus.records.size).toBe(3);
    expect(bus.records.get("id1")?.data[0]).toBe(7);
  });
});
