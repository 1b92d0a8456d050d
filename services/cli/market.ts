import { MarketService, observationColumns } from "../../market/service/index.js";
import { largestMessageBytes, runSubjects } from "../bus/index.js";
import { loadExperiment } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { checkSecurityFlags, type ConnectFlags, connectAs } from "../auth/index.js";
import { rootLogger } from "../log.js";
import { ensureRecordStream, readRecord, readStats, recordedRounds, recordState } from "../report/record.js";

export interface MarketCommandOptions extends ConnectFlags {
  config: string;
  run: string;
  /** Continue after the rounds already in the record. */
  resume?: boolean;
  /** Copies of the record stream on a NATS cluster (1..5; default 1). */
  replicas?: string;
}

/** `stackelberg market`: the market-clearing service as its own process. */
export async function marketCommand(o: MarketCommandOptions): Promise<void> {
  checkSecurityFlags(o);
  runSubjects(o.run); // a bad run id is refused before connecting
  const exp = loadExperiment(o.config);
  const replicas = Number(o.replicas ?? 1);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new ConfigError(`--replicas ${o.replicas}: expected an integer from 1 to 5 (JetStream's limit), at most the cluster's nodes`);
  const log = rootLogger("market");
  const bus = await connectAs(o, o.run, { role: "market" }, `stk-market-${o.run}`, log);
  // The largest message of a round must fit the server's max_payload (stackelberg auth sizes it).
  const largest = largestMessageBytes(exp.market.batch, exp.firms.length, observationColumns(exp).length);
  const maxPayload = bus.nc.info?.max_payload ?? 1_048_576;
  if (largest > maxPayload) {
    await bus.close();
    throw new ConfigError(
      `market.batch ${exp.market.batch} with ${exp.firms.length} firms makes messages of about ${Math.round(largest / 1024)} KiB, above the NATS server's max_payload of ${Math.round(maxPayload / 1024)} KiB; lower market.batch or raise max_payload (stackelberg auth writes a server config that fits)`,
    );
  }
  // Anything that fails before the run (a refused record, a broken one) must not leave the
  // connection open: the process would never exit.
  let market: MarketService;
  try {
    const jsm = await bus.jetstreamManager();
    await ensureRecordStream(jsm, o.run, { replicas });
    const recorded = await recordedRounds(jsm, o.run);
    if (recorded > 0 && !o.resume) {
      throw new ConfigError(
        `run ${o.run} already has ${recorded} recorded rounds; continue it with --resume, or start a new run id`,
      );
    }
    const resumeFrom = o.resume ? await readRecord(bus.nc, o.run) : undefined;
    const resumeStatsRounds = o.resume ? new Set((await readStats(bus.nc, o.run)).map((s) => Number(s.round ?? 0))) : undefined;
    const initial = await recordState(jsm, o.run);
    market = new MarketService({
      bus,
      streamSeq: initial.lastSeq,
      experiment: exp,
      runId: o.run,
      logger: log,
      // The record is repairable: a lost connection or publication is made good, not fatal.
      recordState: () => recordState(jsm, o.run),
      ...(initial.lastMsgId ? { recordLastMsgId: initial.lastMsgId } : {}),
      ...(resumeFrom && resumeStatsRounds ? { resumeFrom, resumeStatsRounds } : {}),
    });
  } catch (err) {
    await bus.close();
    throw err;
  }
  const stop = () => void market.stop("market stopped by signal");
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await market.run();
  } finally {
    await bus.close();
    log.flush?.();
  }
}
