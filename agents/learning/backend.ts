/**
 * TensorFlow.js backend selection: tfjs-node when it is installed (an optional dependency whose
 * install downloads libtensorflow), else the WASM backend, else the pure-JS CPU backend. Works the
 * same on the main thread and inside piscina worker threads (each thread has its own tfjs engine).
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Logger } from "pino";
import { RuntimeFailure } from "../../services/errors.js";

/** Which backends initBackend may try, in order. "auto" is node, wasm, cpu. */
export type BackendPreference = "auto" | "node" | "wasm" | "cpu";

let chosen: Promise<string> | undefined;

/**
 * Picks and initializes the best available backend once per thread; later calls return the same
 * name. `STACKELBERG_TF_BACKEND` (node|wasm|cpu) overrides the preference, e.g. to compare speeds.
 */
export function initBackend(logger?: Pick<Logger, "info" | "warn">, preference: BackendPreference = "auto"): Promise<string> {
  if (chosen === undefined) {
    chosen = pick(envPreference() ?? preference, logger);
    // A failure must not poison later attempts (e.g. a transient file-system error).
    chosen.catch(() => {
      chosen = undefined;
    });
  }
  return chosen;
}

function envPreference(): BackendPreference | undefined {
  const v = process.env.STACKELBERG_TF_BACKEND;
  return v === "node" || v === "wasm" || v === "cpu" || v === "auto" ? v : undefined;
}

async function pick(preference: BackendPreference, logger?: Pick<Logger, "info" | "warn">): Promise<string> {
  const order: Array<"node" | "wasm" | "cpu"> = preference === "auto" ? ["node", "wasm", "cpu"] : [preference, "cpu"];
  const failures: string[] = [];
  for (const name of order) {
    try {
      const ok = name === "node" ? await tryNode() : name === "wasm" ? await tryWasm() : await trySet("cpu");
      if (ok) {
        logger?.info({ backend: tf.getBackend(), tried: failures }, "tensorflow backend ready");
        return tf.getBackend();
      }
      failures.push(`${name}: not available`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  logger?.warn({ tried: failures }, "no tensorflow backend could be initialized");
  throw new RuntimeFailure(`no tensorflow backend could be initialized (${failures.join("; ")})`);
}

async function trySet(name: string): Promise<boolean> {
  const ok = await tf.setBackend(name);
  if (!ok) return false;
  await tf.ready();
  return tf.getBackend() === name;
}

async function tryNode(): Promise<boolean> {
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const specifier = "@tensorflow/tfjs-node";
  // Importing registers the "tensorflow" backend on the shared tfjs-core engine.
  await import(specifier);
  return trySet("tensorflow");
}

async function tryWasm(): Promise<boolean> {
  const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as typeof import("@tensorflow/tfjs-backend-wasm");
  // The threaded build would start its own web-worker pool; a firm already has its training
  // thread, and single-threaded kernels keep results reproducible.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
  wasm.setWasmPaths(`${dist}${path.sep}`);
  return trySet("wasm");
}
