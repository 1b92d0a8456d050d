/** How `stackelberg run` packs firms into host processes and keeps one log per firm. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { HostLogs, hostName, hostsFor, packFirms } from "../../../services/launcher/firm-hosts.js";

describe("firm hosts", () => {
  it("firm hosts - the flag wins over the config, the default is min(firms, 4), never more hosts than firms", () => {
    expect(hostsFor(201, undefined, undefined)).toBe(4);
    expect(hostsFor(2, undefined, undefined)).toBe(2);
    expect(hostsFor(201, undefined, 8)).toBe(8);
    expect(hostsFor(201, 3, 8)).toBe(3);
    expect(hostsFor(5, 16, undefined)).toBe(5);
    expect(() => hostsFor(5, 0, undefined)).toThrow(/--hosts must be a positive integer \(got 0\)/);
    expect(() => hostsFor(5, undefined, 1.5)).toThrow(/deployment.hosts must be a positive integer/);
  });

  it("firm hosts - firms are spread round-robin, every firm in exactly one host, firm-id order kept", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `f${i}`);
    const hosts = packFirms(ids, 4);
    expect(hosts).toEqual([
      ["f0", "f4", "f8"],
      ["f1", "f5", "f9"],
      ["f2", "f6"],
      ["f3", "f7"],
    ]);
    expect(hosts.flat().sort()).toEqual([...ids].sort());
    expect(packFirms(["a", "b"], 4)).toEqual([["a"], ["b"]]);
    expect(hostName(["a"], 0)).toBe("firm-a");
    expect(hostName(["a", "b"], 3)).toBe("firms-3");
  });

  it("firm hosts - a host's log lines go to each firm's log by firmId; the rest, and the culprit of an error, to the host's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-hostlogs-"));
    const logs = new HostLogs(dir, "firms-0", ["a", "b"]);
    const out = new PassThrough();
    logs.follow(out);
    const line = (o: object) => `${JSON.stringify(o)}\n`;
    // Lines split across chunks are put together first.
    const reg = line({ level: 30, firmId: "a", msg: "firm registered" });
    out.write(reg.slice(0, 10));
    out.write(reg.slice(10) + line({ level: 30, firmId: "b", msg: "firm registered" }));
    out.write(line({ level: 30, msg: "process start" }) + line({ level: 50, firmId: "b", msg: "policy failed to act" }));
    out.write("stackelberg: something went wrong\n");
    out.end();
    await new Promise((r) => setImmediate(r));
    expect(logs.describeExit("code 2")).toMatch(
      /^firm host process firms-0 \(firms a, b\) exited with code 2; firm b logged the last error \(logs\/firm-b.log\); its last lines .*\n[\s\S]*stackelberg: something went wrong$/,
    );
    await logs.close();
    const read = (f: string) => readFileSync(join(dir, f), "utf8").trim().split("\n");
    expect(read("firm-a.log").map((l) => JSON.parse(l).msg)).toEqual(["firm registered"]);
    expect(read("firm-b.log").map((l) => JSON.parse(l).msg)).toEqual(["firm registered", "policy failed to act"]);
    expect(read("firms-0.log")).toEqual([line({ level: 30, msg: "process start" }).trim(), "stackelberg: something went wrong"]);
  });

  it("firm hosts - stdout and stderr each keep their unfinished line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-hostlogs-"));
    const logs = new HostLogs(dir, "firms-1", ["a", "b"]);
    const [stdout, stderr] = [new PassThrough(), new PassThrough()];
    logs.follow(stdout);
    logs.follow(stderr);
    stdout.write('{"level":30,"firmId":"a",');
    stderr.write('{"level":30,"firmId":"b","msg":"from stderr"}\n');
    stdout.end('"msg":"from stdout"}\n');
    stderr.end();
    await new Promise((r) => setImmediate(r));
    await logs.close();
    expect(readFileSync(join(dir, "firm-a.log"), "utf8")).toBe('{"level":30,"firmId":"a","msg":"from stdout"}\n');
    expect(readFileSync(join(dir, "firm-b.log"), "utf8")).toBe('{"level":30,"firmId":"b","msg":"from stderr"}\n');
  });

  it("firm hosts - a host of one firm writes everything to that firm's log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stk-hostlogs-"));
    const logs = new HostLogs(dir, hostName(["solo"], 0), ["solo"]);
    const out = new PassThrough();
    logs.follow(out);
    out.end(`{"level":30,"firmId":"solo","msg":"x"}\nplain line\n`);
    await new Promise((r) => setImmediate(r));
    expect(logs.describeExit("SIGKILL")).toMatch(/^firm-solo process exited with SIGKILL; its last lines/);
    await logs.close();
    expect(readFileSync(join(dir, "firm-solo.log"), "utf8")).toBe(`{"level":30,"firmId":"solo","msg":"x"}\nplain line\n`);
  });
});
