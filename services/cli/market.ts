import { MarketService } from "../../market/service/index.js";
import { NatsBus } from "../bus/index.js";
import { loadExperiment } from "../config/index.js";
import { rootLogger } from "../log.js";
import { ensureRecordStream, readRecord } from "../report/record.js";

export interface MarketCommandOptions {
  config: string;
  nats: string;
  run: string;
  /** Continue after the rounds already in the record. */
  resume?: boolean;
}

/** `stackelberg market`: the market-clearing service as its own process. */
export async function marketCommand(o: MarketCommandOptions): Promise<void> {
  const exp = loadExperiment(o.config);
  const log = rootLogger("market");
  const bus = await NatsBus.connect({ servers: o.nats, name: `stk-market-${o.run}`, logger: log });
  const recordBus = await NatsBus.connect({ servers: o.nats, name: `stk-market-record-${o.run}`, logger: log });
  const jsm = await bus.jetstreamManager();
  await ensureRecordStream(jsm, o.run);
  const resumeFrom = o.resume ? await readRecord(bus.nc, o.run) : undefined;
  const market = new MarketService({ bus, recordBus, experiment: exp, runId: o.run, logger: log, ...(resumeFrom ? { resumeFrom } : {}) });
  const stop = () => void market.stop("market stopped by signal");
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await market.run();
  } finally {
    await recordBus.close();
    await bus.close();
    log.flush?.();
  }
}
