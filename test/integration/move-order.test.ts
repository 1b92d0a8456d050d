import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlKind, decode, encode, type MoveRequest, type Outcome, PROTOCOL_VERSION, Role, runSubjects } from "../../services/bus/index.js";
import { rejectName } from "../../services/bus/protocol.js";
import { spawnCli, writeExperiment } from "../fixtures/cli.js";
import { startTestNats, type TestNats } from "../fixtures/nats.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

/** Collects messages of one subject and lets the test wait for the next one that matches. */
class Inbox<T> {
  private items: T[] = [];
  private waiters: Array<{ pred: (t: T) => boolean; resolve: (t: T) => void }> = [];
  constructor(nc: NatsConnection, subject: string, dec: (b: Uint8Array) => T) {
    nc.subscribe(subject, {
      callback: (_e, m) => {
        const t = dec(m.data);
        const w = this.waiters.findIndex((x) => x.pred(t));
        if (w >= 0) this.waiters.splice(w, 1)[0]?.resolve(t);
        else this.items.push(t);
      },
    });
  }
  next(pred: (t: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timed out waiting for a message")), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      });
    });
  }
}

describe("move order", () => {
  it("move order - every bad submission gets its reject code, the market keeps running and the round is unaffected", async () => {
    const run = "moveorder";
    const cfg = writeExperiment({
      name: "move-order",
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 2, roundsPerEpisode: 3, episodes: 1, quantityMax: 100, deadlineMs: 1500, maxMisses: 5 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 1 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 1 } },
      ],
    });
    const market = spawnCli(["market", "--config", cfg, "--nats", nats.url, "--run", run, "--insecure"]);
    const nc = await connect({ servers: nats.url });
    const inboxes = new Map<string, NatsConnection>();
    try {
      const rejects = new Inbox(nc, `stk.${run}.reject.*`, decode.reject);
      const outcomes = new Inbox<Outcome>(nc, `stk.${run}.outcome`, decode.outcome);
      const moves0 = new Inbox<MoveRequest>(nc, `stk.${run}.move.0`, decode.move);
      const moves1 = new Inbox<MoveRequest>(nc, `stk.${run}.move.1`, decode.move);
      const control = new Inbox(nc, `stk.${run}.control`, decode.control);
      const register = async (firmId: string, role: number, tier: number, version = PROTOCOL_VERSION) => {
        for (let i = 0; ; i++) {
          try {
            // A firm's registration is answered only in its own inbox: one connection per firm id.
            const conn = inboxes.get(firmId) ?? (await connect({ servers: nats.url, inboxPrefix: runSubjects(run).firmInbox(firmId) }));
            inboxes.set(firmId, conn);
            const m = await conn.request(`stk.${run}.register.${firmId}`, encode.register({ protocolVersion: version, firmId, role, tier }), { timeout: 1000 });
            return decode.registerReply(m.data);
          } catch (e) {
            if (i > 50) throw e;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      // registration rules
      const stranger = await register("stranger", Role.ROLE_LEADER, 0);
      expect(stranger.accepted).toBe(false);
      expect(rejectName(stranger.reject?.code ?? 0)).toBe("NOT_IN_RUN");
      const oldVersion = await register("leader", Role.ROLE_LEADER, 0, 99);
      expect(rejectName(oldVersion.reject?.code ?? 0)).toBe("VERSION");
      const regL = await register("leader", Role.ROLE_LEADER, 0);
      expect(regL.accepted).toBe(true);
      expect(regL.params?.batch).toBe(2);
      expect((await register("leader", Role.ROLE_LEADER, 0)).accepted).toBe(true); // idempotent
      // The follower's id in its own tier claiming to lead, or a leader's id claiming to follow.
      const wrongRole = await register("follower", Role.ROLE_LEADER, 1);
      expect(wrongRole.accepted).toBe(false);
      expect(rejectName(wrongRole.reject?.code ?? 0)).toBe("NOT_IN_RUN");
      expect(wrongRole.reject?.detail).toMatch(/registered with role leader but the run makes it a follower/);
      expect(rejectName((await register("leader", Role.ROLE_FOLLOWER, 0)).reject?.code ?? 0)).toBe("NOT_IN_RUN");
      expect(rejectName((await register("leader", Role.ROLE_UNSPECIFIED, 0)).reject?.code ?? 0)).toBe("NOT_IN_RUN");
      expect((await register("follower", Role.ROLE_FOLLOWER, 1)).accepted).toBe(true);

      const submit = (subjectId: string, q: number[], round = 0, payloadId = subjectId) =>
        nc.publish(`stk.${run}.submit.${subjectId}`, encode.submission({ runId: run, firmId: payloadId, round, quantities: q }));
      const expectReject = async (firmId: string, code: string) => {
        const r = await rejects.next((x) => x.firmId === firmId);
        expect(rejectName(r.code ?? 0), r.detail ?? "").toBe(code);
        expect(r.detail ?? "").toContain(firmId);
      };

      const m0 = await moves0.next();
      expect(Number(m0.round)).toBe(0);
      submit("follower", [20, 22.5]);
      await expectReject("follower", "OUT_OF_ORDER");
      submit("ghost", [1, 1]);
      await expectReject("ghost", "UNKNOWN_FIRM");
      submit("leader", [1, 1], 0, "follower");
      await expectReject("leader", "MALFORMED");
      nc.publish(`stk.${run}.submit.leader`, new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x01]));
      await expectReject("leader", "MALFORMED");
      submit("leader", [Number.NaN, 1]);
      await expectReject("leader", "INVALID_QUANTITY");
      submit("leader", [-1, 1]);
      await expectReject("leader", "INVALID_QUANTITY");
      submit("leader", [1, 1e9]);
      await expectReject("leader", "INVALID_QUANTITY");
      submit("leader", [1, 2, 3]);
      await expectReject("leader", "WRONG_BATCH");
      submit("leader", [40, 45]);
      const m1 = await moves1.next();
      expect(Array.from(m1.committed?.[0]?.quantities ?? [])).toEqual([40, 45]);
      expect(m1.committed?.[0]?.firmIds).toEqual(["leader"]);
      submit("leader", [41, 46]);
      await expectReject("leader", "DUPLICATE");
      submit("follower", [20, 22.5]);
      const o0 = await outcomes.next();
      expect(Number(o0.round)).toBe(0);
      expect(o0.firmIds).toEqual(["follower", "leader"]);
      expect(Array.from(o0.quantities ?? [])).toEqual([20, 22.5, 40, 45]);
      expect(Array.from(o0.prices ?? [])).toEqual([40, 32.5]);
      expect(Array.from(o0.profits ?? [])).toEqual([600, 506.25, 1200, 1012.5]);
      expect(Array.from(o0.absent ?? [])).toEqual([false, false]);

      // round 1: the follower stops answering; the round clears at the follower's deadline, with
      // the follower marked absent and given its last quantity
      await moves0.next((m) => Number(m.round) === 1);
      submit("leader", [45, 45], 1);
      const m1r1 = await moves1.next((m) => Number(m.round) === 1);
      const o1 = await outcomes.next((o) => Number(o.round) === 1);
      // Both times come from the market's clock: it waited out the deadline before clearing
      // without the follower, whatever the speed of this machine.
      expect(Number(o1.clearedUnixMs)).toBeGreaterThanOrEqual(Number(m1r1.deadlineUnixMs));
      expect(Array.from(o1.absent ?? [])).toEqual([true, false]);
      expect(Array.from(o1.quantities ?? [])).toEqual([20, 22.5, 45, 45]);
      // a submission for a round that has cleared is LATE
      submit("follower", [1, 1], 1);
      await expectReject("follower", "LATE");

      // round 2: both answer; the run ends
      await moves0.next((m) => Number(m.round) === 2);
      submit("leader", [45, 45], 2);
      await moves1.next((m) => Number(m.round) === 2);
      submit("follower", [22.5, 22.5], 2);
      const o2 = await outcomes.next((o) => Number(o.round) === 2);
      expect(Array.from(o2.absent ?? [])).toEqual([false, false]);
      const end = await control.next((c) => c.kind === ControlKind.END_OF_RUN);
      expect(end.reason).toContain("all rounds");
      expect(await market.exit).toBe(0);
    } finally {
      market.proc.kill();
      await nc.close();
      for (const c of inboxes.values()) await c.close();
    }
  });

  it("move order - a firm process that stops answering gets the default action; the run completes", async () => {
    const cfg = writeExperiment({
      name: "silent-firm",
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: 3, episodes: 12, quantityMax: 100, deadlineMs: 300, maxMisses: 100, defaultAction: "zero" },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 22.5 } },
      ],
    });
    const run = "silent";
    const market = spawnCli(["market", "--config", cfg, "--nats", nats.url, "--run", run, "--insecure"]);
    const leader = spawnCli(["firm", "--config", cfg, "--nats", nats.url, "--run", run, "--insecure", "--firm", "leader"]);
    const follower = spawnCli(["firm", "--config", cfg, "--nats", nats.url, "--run", run, "--insecure", "--firm", "follower"]);
    const nc = await connect({ servers: nats.url });
    try {
      const outcomes = new Inbox<Outcome>(nc, `stk.${run}.outcome`, decode.outcome);
      const o2 = await outcomes.next((o) => Number(o.round) === 2, 20_000);
      expect(Array.from(o2.absent ?? [])).toEqual([false, false]);
      // freeze the follower process: it stays connected but never answers
      follower.proc.kill("SIGSTOP");
      const o6 = await outcomes.next((o) => Number(o.round) === 6, 20_000);
      expect(Array.from(o6.absent ?? [])).toEqual([true, false]);
      expect(Array.from(o6.quantities ?? []).slice(0, 3)).toEqual([0, 0, 0]);
      expect(await market.exit).toBe(0);
      expect(await leader.exit).toBe(0);
    } finally {
      follower.proc.kill("SIGKILL");
      market.proc.kill();
      leader.proc.kill();
      await nc.close();
    }
  });
});
