import { pino, type Logger } from "pino";

/**
 * The process's root logger: JSON lines on stderr, pretty-printed when stderr is a terminal.
 * Components take `root.child({ component, firmId })`. Level from LOG_LEVEL (default info).
 */
export function rootLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  const pretty = process.stderr.isTTY && process.env.LOG_FORMAT !== "json";
  if (pretty) {
    return pino({
      name,
      level,
      transport: { target: "pino-pretty", options: { destination: 2, colorize: true, translateTime: "HH:MM:ss.l" } },
    });
  }
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}

/**
 * Logs repeated events of one key (e.g. rejects of one firm) at a limited rate: the first at once,
 * then at most one line per `intervalMs` carrying how many were suppressed in between. Keys come
 * off the wire, so their number is capped; beyond the cap they share one key.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 5000,
    private readonly maxKeys = 1024,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    this.write("warn", key, obj, msg);
  }

  info(key: string, obj: Record<string, unknown>, msg: string): void {
    this.write("info", key, obj, msg);
  }

  /** Logs how many events of each key were suppressed since their last line (at the end of a run). */
  flush(msg = "suppressed repeats"): void {
    for (const [key, e] of this.last)
      if (e.suppressed > 0) {
        this.log.warn({ key, suppressed: e.suppressed }, msg);
        e.suppressed = 0;
      }
  }

  private write(level: "warn" | "info", key: string, obj: Record<string, unknown>, msg: string): void {
    const k = this.last.has(key) || this.last.size < this.maxKeys ? key : "(other keys)";
    const t = this.now();
    const e = this.last.get(k);
    if (e && t - e.at < this.intervalMs) {
      e.suppressed++;
      return;
    }
    this.log[level](e && e.suppressed > 0 ? { ...obj, suppressed: e.suppressed, sinceMs: t - e.at } : obj, msg);
    this.last.set(k, { at: t, suppressed: 0 });
  }
}
