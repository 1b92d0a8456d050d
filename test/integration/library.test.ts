/**
 * The framework as a library: a TypeScript project elsewhere, with this package in its
 * node_modules, imports every entry of the exports map, typechecks against the shipped
 * declarations, and runs.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertBuilt, ROOT } from "../fixtures/cli.js";

describe("library", () => {
  it("library - every export entry resolves, typechecks against its declarations and runs", () => {
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), "stk-lib-"));
    try {
      mkdirSync(join(dir, "node_modules"));
      symlinkSync(ROOT, join(dir, "node_modules", "stackelberg-market"), "dir");
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")], noEmit: false, outDir: "out" },
          files: ["agent.ts"],
        }),
      );
      writeFileSync(
        join(dir, "agent.ts"),
        `import { FirmRuntime, StackelbergError, economics, parseExperiment } from "stackelberg-market";
import { encode, decode, runSubjects, PROTOCOL_VERSION } from "stackelberg-market/bus";
import { solveEquilibrium } from "stackelberg-market/economics";
import { loadExperiment } from "stackelberg-market/config";
import { FixedPolicy } from "stackelberg-market/firm";
import { identitiesOf } from "stackelberg-market/auth";

const exp = parseExperiment({
  name: "lib",
  market: { demand: { kind: "linear", a: 100, b: 1 } },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
});
const bytes: Uint8Array = encode.submission({ runId: "r", firmId: "follower", round: 3, quantities: [22.5] });
const back = decode.submission(bytes);
const s = runSubjects("r");
const ids = identitiesOf(exp, "r").map((i) => i.name);
const ok: boolean = typeof FirmRuntime === "function" && typeof FixedPolicy === "function" && typeof loadExperiment === "function";
const e: StackelbergError = new StackelbergError("x");
console.log(JSON.stringify({ q: back.quantities, subject: s.submit("follower"), ids, ok, v: PROTOCOL_VERSION, clear: typeof economics.clear, solve: typeof solveEquilibrium, e: e.exitCode }));
`,
      );
      execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { cwd: dir, stdio: "pipe" });
      const out = JSON.parse(execFileSync(process.execPath, [join(dir, "out", "agent.js")], { cwd: dir }).toString());
      expect(out).toEqual({
        q: [22.5],
        subject: "stk.r.submit.follower",
        ids: ["market", "reader", "firm-follower", "firm-leader"],
        ok: true,
        v: 1,
        clear: "function",
        solve: "function",
        e: 2,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
