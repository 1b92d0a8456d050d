import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FirmRuntime, makePolicyFactory } from "../../agents/index.js";
import { type NatsBus, runSubjects } from "../bus/index.js";
import { ConfigError, Interrupted } from "../errors.js";
import { isCtdeLearner, loadExperiment } from "../config/index.js";
import { rootLogger } from "../log.js";
import { checkSecurityFlags, type ConnectFlags, connectAs } from "../auth/index.js";

export interface FirmCommandOptions extends ConnectFlags {
  config: string;
  run: string;
  /** Comma-separated firm ids hosted by this process. */
  firm: string;
  /** Output folder for checkpoints (optional). */
  out?: string;
  /** Load policies from the output folder's checkpoints first. */
  resume?: boolean;
}

/** `stackelberg firm`: hosts one or more firms of the experiment in this process. */
export async function firmCommand(o: FirmCommandOptions): Promise<void> {
  checkSecurityFlags(o);
  runSubjects(o.run); // a bad run id is refused before connecting
  const exp = loadExperiment(o.config);
  const ids = o.firm.split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new ConfigError("--firm needs at least one firm id");
  if (ids.length > 1 && o.creds && !statSync(o.creds, { throwIfNoEntry: false })?.isDirectory())
    throw new ConfigError(
      `--firm ${o.firm}: each firm has its own credentials; pass --creds DIR (the folder \`stackelberg auth\` wrote), not one file`,
    );
  const firms = ids.map((id) => {
    const f = exp.firms.find((x) => x.id === id);
    if (!f) throw new ConfigError(`--firm ${id}: no such firm in ${o.config} (firms: ${exp.firms.map((x) => x.id).join(", ")})`);
    return f;
  });
  const log = rootLogger("firm");
  if (o.out) mkdirSync(join(o.out, "learners"), { recursive: true });
  // One connection per firm: each firm is its own NATS identity, allowed only its own subjects.
  const buses: NatsBus[] = [];
  try {
    for (const f of firms)
      buses.push(await connectAs(o, o.run, { role: "firm", firmId: f.id, tier: f.tier, ctde: isCtdeLearner(f.policy.kind) }, `stk-firm-${f.id}`, log));
  } catch (err) {
    await Promise.all(buses.map((b) => b.close()));
    throw err;
  }
  const runtimes = firms.map(
    (f, i) =>
      new FirmRuntime({
        bus: buses[i]!,
        runId: o.run,
        firmId: f.id,
        role: f.role,
        tier: f.tier,
        logger: log,
        makePolicy: makePolicyFactory(exp, f, { logger: log, ...(o.out ? { outDir: o.out } : {}) }),
        capabilities: capabilitiesOf(f.policy.kind),
        ...(o.out
          ? { checkpointDir: join(o.out, "checkpoints"), metricsFile: join(o.out, "learners", `${f.id}.jsonl`), resume: o.resume ?? false }
          : {}),
      }),
  );
  // On a signal, save each policy first (bounded in time) so `run --resume` continues training.
  const stop = () => {
    const limit = new Promise<void>((r) => setTimeout(r, 10_000).unref());
    void Promise.race([Promise.allSettled(runtimes.map((r) => r.checkpoint("signal"))), limit]).then(() => {
      for (const r of runtimes) r.abort(new Interrupted("firm stopped by signal"));
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await Promise.all(runtimes.map((r) => r.start()));
    await Promise.all(runtimes.map((r) => r.done()));
  } finally {
    await Promise.all(runtimes.map((r) => r.stop()));
    await Promise.all(buses.map((b) => b.close()));
  }
}

/** Centralized-critic learners ask for the joint training information. */
function capabilitiesOf(kind: string): string[] {
  return isCtdeLearner(kind) ? ["ctde", `policy:${kind}`] : [`policy:${kind}`];
}
