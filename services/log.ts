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
