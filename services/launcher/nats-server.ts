/**
 * Starts a local nats-server (JetStream on, loopback, a free port, a store directory) for a run or
 * a test, and stops it. The binary comes from NATS_SERVER, the project's .tools/bin (see scripts/setup.sh),
 * PATH, or the usual system locations.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RuntimeFailure } from "../errors.js";

/** Where to look for nats-server when it is not on PATH (Debian installs it in /usr/sbin). */
const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"];

const PACKAGE_NAME = "stackelberg-market";

/**
 * The repository (or installed package) root: the nearest folder above this module whose package.json
 * is ours. Walking up works both from the source under vitest and from dist/ after the build.
 */
function projectRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (typeof pkg === "object" && pkg !== null && (pkg as { name?: unknown }).name === PACKAGE_NAME) return dir;
    } catch {
      // no (readable) package.json here
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Path of the nats-server binary, or undefined. After an explicit NATS_SERVER, the release that
 * scripts/setup.sh builds into .tools/bin wins over PATH and the system's (often much older) package.
 */
export function findNatsServer(): string | undefined {
  const explicit = process.env.NATS_SERVER;
  const root = projectRoot();
  const candidates = [
    ...(explicit ? [explicit] : []),
    ...(root ? [join(root, ".tools", "bin", "nats-server")] : []),
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "nats-server")),
    ...SYSTEM_DIRS.map((d) => join(d, "nats-server")),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalNats {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface LocalNatsOptions {
  /** JetStream store directory; a temporary one (removed on stop) when omitted. */
  storeDir?: string;
  /** Extra arguments. */
  args?: string[];
  /**
   * A configuration file (e.g. the one `stackelberg auth` writes). Its jetstream block must name the
   * store directory: the server refuses a second one from the command line.
   */
  configFile?: string;
  port?: number;
}

/** Starts nats-server and resolves once it accepts clients. */
export async function startNatsServer(opts: LocalNatsOptions = {}): Promise<LocalNats> {
  const bin = findNatsServer();
  if (!bin) {
    throw new RuntimeFailure(
      "nats-server not found. Install it (Debian/Ubuntu: apt-get install nats-server), set NATS_SERVER=/path/to/nats-server, or pass --nats <url> of a running server with JetStream",
    );
  }
  const port = opts.port ?? (await freePort());
  const tempStore = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), "stk-nats-"));
  const js = opts.configFile ? ["-c", opts.configFile] : ["-js", "-sd", storeDir];
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), ...js, ...(opts.args ?? [])], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RuntimeFailure(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    child.stderr?.on("data", (b: Buffer) => {
      log += b.toString();
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new RuntimeFailure(`nats-server exited with code ${code} before it was ready:\n${log}`));
    });
  });
  child.stderr?.removeAllListeners("data");
  child.stderr?.resume();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    if (tempStore) rmSync(storeDir, { recursive: true, force: true });
  };
  return { url: `nats://127.0.0.1:${port}`, port, storeDir, process: child, stop };
}
