import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { serverConfigFile, writeRunAuth } from "../../../services/auth/index.js";
import { parseClusterNodes } from "../../../services/cli/auth.js";
import { parseExperiment } from "../../../services/config/index.js";

const exp = parseExperiment({
  name: "cluster",
  market: { demand: { kind: "linear", a: 100, b: 1 } },
  firms: [
    { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
    { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "best-response" } },
  ],
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("auth --cluster", () => {
  it("auth cluster - node lists parse with the route port defaulting to 6222, and bad ones are refused by name", () => {
    expect(parseClusterNodes("n1=10.0.0.1:7000, n2=host-b")).toEqual([
      { name: "n1", route: "10.0.0.1:7000" },
      { name: "n2", route: "host-b:6222" },
    ]);
    expect(() => parseClusterNodes("n1=10.0.0.1")).toThrow(/at least two nodes/);
    expect(() => parseClusterNodes("n1=a,n1=b")).toThrow(/node name n1 appears twice/);
    expect(() => parseClusterNodes("n1=a,10.0.0.2")).toThrow(/"10.0.0.2" is not name=host:port/);
  });

  it("auth cluster - one configuration per node: its own name and store, routes to the others, one route password kept out of auth.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-auth-cluster-"));
    dirs.push(dir);
    const nodes = parseClusterNodes("n1=10.1.0.1,n2=10.1.0.2,n3=10.1.0.3:7222");
    writeRunAuth(join(dir, "auth"), exp, "cl-1", { listen: "0.0.0.0:4222", storeDir: "/var/lib/stk", cluster: { nodes } });
    expect(existsSync(join(dir, "auth", "server.conf"))).toBe(false);
    const confs = nodes.map((n) => readFileSync(join(dir, "auth", serverConfigFile(n.name)), "utf8"));
    const passwords = new Set<string>();
    confs.forEach((c, i) => {
      const me = nodes[i]!;
      expect(statSync(join(dir, "auth", serverConfigFile(me.name))).mode & 0o777).toBe(0o600);
      expect(c).toContain(`server_name: "${me.name}"`);
      expect(c).toContain(`store_dir: "/var/lib/stk/${me.name}"`);
      expect(c).toContain(`listen: "0.0.0.0:${me.route.split(":")[1]}"`);
      expect(c).toContain('name: "stk-cl-1"');
      const routes = /routes: \[(.*)\]/.exec(c)![1]!;
      for (const other of nodes) expect(routes.includes(`@${other.route}"`)).toBe(other !== me);
      const pw = /password: "([^"]+)"/.exec(c)![1]!;
      expect(pw.length).toBeGreaterThanOrEqual(24);
      passwords.add(pw);
    });
    expect(passwords.size).toBe(1);
    expect(readFileSync(join(dir, "auth", "auth.json"), "utf8")).not.toContain([...passwords][0]);
  });
});
