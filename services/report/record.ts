/**
 * The durable record of a run: a JetStream stream on the record subject. Each message is a
 * RoundRecord holding consecutive cleared rounds (idempotent id <run>-<first>-<last>); together
 * they hold every cleared round. A run's results are rebuilt from it and a restarted market
 * resumes after its last round.
 */
import { DeliverPolicy, type JetStreamManager, jetstream, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decode, type Outcome, runSubjects } from "../bus/index.js";

/** Creates the run's record stream when it does not exist yet (idempotent). */
export async function ensureRecordStream(jsm: JetStreamManager, runId: string): Promise<void> {
  const s = runSubjects(runId);
  try {
    await jsm.streams.info(s.stream);
    return;
  } catch {
    // not there yet
  }
  await jsm.streams.add({
    name: s.stream,
    subjects: [s.record],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // Idempotent ids: a re-published round (e.g. after a market restart) is stored once.
    duplicate_window: 10 * 60 * 1_000_000_000,
  });
}

/** Outcomes held by one record message. */
export function outcomesOf(data: Uint8Array): Outcome[] {
  return decode.record(data).outcomes ?? [];
}

/** Reads every recorded outcome in order (round 0 first), up to the record's end when called. */
export async function readRecord(nc: NatsConnection, runId: string, onOutcome?: (o: Outcome) => void): Promise<Outcome[]> {
  const s = runSubjects(runId);
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const out: Outcome[] = [];
  let lastSeq: number;
  try {
    const info = await jsm.streams.info(s.stream);
    if (info.state.messages === 0) return out;
    lastSeq = info.state.last_seq;
  } catch {
    return out;
  }
  const c = await js.consumers.get(s.stream, { deliver_policy: DeliverPolicy.All });
  const it = await c.consume();
  for await (const m of it) {
    for (const o of outcomesOf(m.data)) {
      if (onOutcome) onOutcome(o);
      else out.push(o);
    }
    // Stop at the last message that existed when the read began (the stream may still grow).
    if (m.seq >= lastSeq) break;
  }
  await it.close();
  return out;
}
