import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { claimFirm, matchesClaim } from "../../../services/cli/claim.js";
import { firmCommand } from "../../../services/cli/firm.js";
import { ConfigError } from "../../../services/errors.js";
import { writeExperiment } from "../../fixtures/cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function claimsDir(): string {
  const d = mkdtempSync(join(tmpdir(), "stk-claims-"));
  dirs.push(d);
  return d;
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

const ids = ["follower-1", "follower-2"];

describe("firm claims", () => {
  it("claims - patterns match whole ids, with * for any characters and commas for alternatives", () => {
    expect(matchesClaim("follower-*", "follower-12")).toBe(true);
    expect(matchesClaim("follower-*", "leader")).toBe(false);
    expect(matchesClaim("follower-*", "big-follower-1")).toBe(false);
    expect(matchesClaim("leader,f.1", "f.1")).toBe(true);
    expect(matchesClaim("f.1", "fx1")).toBe(false); // a dot is a dot
  });

  it("claims - processes sharing a folder get different firms, in order; one too many is refused naming the holders", () => {
    const d = claimsDir();
    expect(claimFirm(d, ids, "replica-a").firmId).toBe("follower-1");
    expect(claimFirm(d, ids, "replica-b").firmId).toBe("follower-2");
    const third = () => claimFirm(d, ids, "replica-c", "follower-*");
    expect(third).toThrow(ConfigError);
    expect(third).toThrow(/every matching firm is claimed .*follower-1 \(replica-a, pid \d+\), follower-2 \(replica-b/);
  });

  it("claims - a holder started again gets its own firm back; a live process under the same name does not", () => {
    const d = claimsDir();
    // replica-a held follower-1 and died (its pid is gone): started again, it takes follower-1 back.
    writeFileSync(join(d, "follower-1.claim"), JSON.stringify({ holder: "replica-a", pid: deadPid(), at: "x" }));
    expect(claimFirm(d, ids, "replica-a").firmId).toBe("follower-1");
    // Another live process (our parent) holds follower-2 under the same name: not ours to take.
    const e = claimsDir();
    writeFileSync(join(e, "follower-1.claim"), JSON.stringify({ holder: "replica-a", pid: process.ppid, at: "x" }));
    expect(claimFirm(e, ids, "replica-a").firmId).toBe("follower-2");
  });

  it("claims - release frees the firm for the next process and leaves other holders' claims alone", () => {
    const d = claimsDir();
    const a = claimFirm(d, ids, "replica-a");
    a.release();
    expect(readdirSync(d)).toEqual([]);
    expect(claimFirm(d, ids, "replica-b").firmId).toBe("follower-1");
    a.release(); // follower-1 is replica-b's now
    expect(existsSync(join(d, "follower-1.claim"))).toBe(true);
  });

  it("claims - a missing claim folder and an empty match are refused with the flag named", () => {
    expect(() => claimFirm(join(claimsDir(), "nope"), ids, "a")).toThrow(/--claim-dir .*nope: cannot write claims there/);
    expect(() => claimFirm(claimsDir(), [], "a", "tier-9-*")).toThrow(/--claim tier-9-\*: no firm of the experiment matches/);
  });

  it("claims - the firm command refuses --claim with --firm, and --claim without --claim-dir, before connecting", async () => {
    const config = writeExperiment({
      name: "claims",
      market: { demand: { kind: "linear", a: 100, b: 1 } },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
        { id: "follower-1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
      ],
    });
    const base = { config, nats: "nats://127.0.0.1:1", run: "claims", insecure: true };
    await expect(firmCommand({ ...base, firm: "leader", claim: "follower-*", claimDir: claimsDir() })).rejects.toThrow(/--firm and --claim contradict/);
    await expect(firmCommand({ ...base, claim: "follower-*" })).rejects.toThrow(/--claim needs --claim-dir/);
    await expect(firmCommand({ ...base, claim: "nobody-*", claimDir: claimsDir() })).rejects.toThrow(/no firm of the experiment matches/);
  });
});
