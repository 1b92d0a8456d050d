import { formatReport, runConformance } from "../conformance/index.js";
import { ConfigError } from "../errors.js";
import { rootLogger } from "../log.js";

export interface ConformanceCommandOptions {
  role: string;
  tier?: string;
  firm?: string;
  batch: string;
  deadlineMs: string;
  wait?: string;
  port?: string;
  out?: string;
  json?: boolean;
  /** False skips the refusal check (`--no-refusal`). */
  refusal?: boolean;
}

/**
 * `stackelberg conformance --role R [--tier T] ... [-- agent command]`: drives an outside agent
 * through the protocol and prints what it got wrong. Exit code 0 when every check passed, 1 when
 * one failed (bad usage is a ConfigError: 2).
 */
export async function conformanceCommand(agent: string[], o: ConformanceCommandOptions): Promise<void> {
  const role = o.role;
  if (role !== "leader" && role !== "follower") throw new ConfigError(`--role must be leader or follower, got "${role}"`);
  const int = (flag: string, v: string) => {
    if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${flag} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const manual = agent.length === 0;
  const wait = o.wait === undefined ? (manual ? 600 : 60) : Number(o.wait);
  if (!Number.isFinite(wait)) throw new ConfigError(`--wait must be a number of seconds, got "${o.wait}"`);
  const report = await runConformance({
    role,
    tier: o.tier === undefined ? (role === "leader" ? 0 : 1) : int("--tier", o.tier),
    firm: o.firm ?? role,
    batch: int("--batch", o.batch),
    deadlineMs: int("--deadline-ms", o.deadlineMs),
    registerWaitMs: wait * 1000,
    ...(manual ? {} : { agent }),
    ...(o.out ? { out: o.out } : {}),
    ...(o.port !== undefined ? { port: int("--port", o.port) } : {}),
    ...(o.refusal === false ? { refusal: false } : {}),
    // The report owns stdout; logs (warnings only, unless LOG_LEVEL says otherwise) go to stderr.
    logger: rootLogger("conformance", process.env.LOG_LEVEL ?? "warn"),
    // With --json, stdout holds only the report.
    announce: (text) => (o.json ? process.stderr : process.stdout).write(text),
  });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
}
