/**
 * The agent under test as a child process: its command with the run's values filled in (the
 * placeholders, and the same values as STK_* environment variables), its output kept in a log file
 * and its last lines in memory, and how it ended.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { clip } from "../bus/index.js";
import { ConfigError } from "../errors.js";

/** What an agent needs to join the check's run. */
export interface AgentValues {
  nats: string;
  run: string;
  firm: string;
  /** Path of the firm's credentials file (an nkey seed). */
  creds: string;
  tier: number;
  role: "leader" | "follower";
}

/** The placeholders of an agent command, each replaced by its value: {nats} {run} {firm} {creds} {tier} {role}. */
export const PLACEHOLDERS = ["nats", "run", "firm", "creds", "tier", "role"] as const;

/** `args` with every placeholder replaced. */
export function fillPlaceholders(args: readonly string[], v: AgentValues): string[] {
  const value: Record<(typeof PLACEHOLDERS)[number], string> = {
    nats: v.nats,
    run: v.run,
    firm: v.firm,
    creds: v.creds,
    tier: String(v.tier),
    role: v.role,
  };
  return args.map((a) => a.replace(/\{(nats|run|firm|creds|tier|role)\}/g, (_, k: keyof typeof value) => value[k]));
}

/** The values as environment variables: STK_NATS_URL, STK_RUN_ID, STK_FIRM_ID, STK_CREDS, STK_TIER, STK_ROLE. */
export function agentEnv(v: AgentValues): Record<string, string> {
  return {
    STK_NATS_URL: v.nats,
    STK_RUN_ID: v.run,
    STK_FIRM_ID: v.firm,
    STK_CREDS: v.creds,
    STK_TIER: String(v.tier),
    STK_ROLE: v.role,
  };
}

/** How the agent process ended. */
export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Unix ms. */
  at: number;
}

const TAIL_LINES = 20;

/** A started agent. */
export class AgentProcess {
  /** Resolves when the process has exited (and its output is in). */
  readonly exited: Promise<AgentExit>;
  /** Set once the process has exited. */
  exit: AgentExit | undefined;
  /** True when the check stopped it (it did not exit by itself). */
  stopped = false;
  private readonly lines: string[] = [];
  private partial = "";

  private constructor(
    /** The command as run (placeholders filled in). */
    readonly command: readonly string[],
    private readonly proc: ChildProcess,
    private readonly log: WriteStream | undefined,
  ) {
    const take = (b: Buffer) => {
      this.log?.write(b);
      const parts = (this.partial + b.toString()).split("\n");
      this.partial = parts.pop() ?? "";
      for (const l of parts) if (l.trim() !== "") this.lines.push(l);
      if (this.lines.length > TAIL_LINES) this.lines.splice(0, this.lines.length - TAIL_LINES);
    };
    proc.stdout?.on("data", take);
    proc.stderr?.on("data", take);
    // Errors after the start (e.g. a failed kill) must not crash the check.
    proc.on("error", () => {});
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        const exit = { code, signal, at: Date.now() };
        // Let the last output arrive (the pipes close after the exit), but do not wait on a
        // grandchild that keeps them open.
        const t = setTimeout(done, 500);
        proc.once("close", done);
        function done() {
          clearTimeout(t);
          resolve(exit);
        }
      });
    }).then((e) => {
      if (this.partial.trim() !== "") this.lines.push(this.partial);
      this.partial = "";
      this.exit = e as AgentExit;
      this.log?.end();
      return e as AgentExit;
    });
  }

  /** Starts `command` (placeholders filled in, STK_* set); a command that cannot start is a ConfigError. */
  static async start(command: readonly string[], values: AgentValues, logFile?: string): Promise<AgentProcess> {
    const argv = fillPlaceholders(command, values);
    const [cmd, ...args] = argv;
    if (!cmd) throw new ConfigError("the agent command is empty");
    const proc = spawn(cmd, args, { env: { ...process.env, ...agentEnv(values) }, stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      proc.once("spawn", resolve);
      proc.once("error", (err: NodeJS.ErrnoException) =>
        reject(new ConfigError(`agent command ${clip(cmd, 200)}: cannot start it (${err.code ?? err.message})`)),
      );
    });
    return new AgentProcess(argv, proc, logFile ? createWriteStream(logFile) : undefined);
  }

  /** "code 1", "signal SIGKILL", or "still running". */
  describe(): string {
    const e = this.exit;
    if (!e) return "still running";
    return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
  }

  /**
   * The agent's last output, as one clipped line (empty when it printed nothing): its last line
   * naming an error (a stack trace ends in frames and runtime banners), or else its last lines.
   */
  tail(lines = 3): string {
    const error = this.lines.findLast((l) => /error|exception|panic|fatal|traceback/i.test(l) && !/^\s+at /.test(l));
    const last = this.lines.at(-1);
    const picked =
      error !== undefined ? (error === last ? [error] : [error.trim(), "...", last ?? ""]) : this.lines.slice(-lines);
    return clip(picked.join(" | "), 300);
  }

  /** Stops the agent if it still runs: SIGTERM, then SIGKILL after 2 s. */
  async stop(): Promise<void> {
    if (this.exit || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      await this.exited;
      return;
    }
    this.stopped = true;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 2000);
    await this.exited;
    clearTimeout(t);
  }
}
