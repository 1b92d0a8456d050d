/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file parses
 * (YAML merge keys and compose's ${VAR:-default} interpolation resolved as compose resolves them),
 * every `stackelberg` command and option they use exists in the CLI (read from the commander
 * program itself, not from a second list), the experiment they name loads, the follower replicas'
 * claimed ids are the experiment's followers, and each container gets only its own credentials.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, type Option } from "commander";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { claimFirm, matchesClaim } from "../../../services/cli/claim.js";
import { defineCommands } from "../../../services/cli/program.js";
import { loadExperiment } from "../../../services/config/index.js";
import { ROOT } from "../../fixtures/cli.js";

interface Service {
  image?: string;
  build?: unknown;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
}

/** Compose's interpolation with no variable set: ${VAR:-default} is the default, $$ is $. A variable without a default is an error here. */
function interpolate(v: unknown): unknown {
  if (typeof v === "string") {
    const out = v.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (m, name: string | undefined, def: string | undefined) => {
      if (m === "$$") return "$";
      if (def === undefined) throw new Error(`docker-compose.yml: \${${name}} has no default; every variable needs one`);
      return def;
    });
    return out;
  }
  if (Array.isArray(v)) return v.map(interpolate);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)]));
  return v;
}

const compose = interpolate(parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true })) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const program = defineCommands(new Command());

/** Splits a shell script into simple commands, each as its words (quotes removed, $VAR from `env`). */
function shellCommands(script: string, env: Record<string, string>): string[][] {
  return script
    .split(/;|&&|\|\||\n|(?<=\s)[{}](?=\s|;|$)/)
    .map((part) =>
      [...part.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => {
        const word = m[1] ?? m[2] ?? m[3] ?? "";
        return m[2] !== undefined ? word : word.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, n: string) => env[n] ?? "");
      }),
    )
    .filter((w) => w.length > 0);
}

/** Every `stackelberg` command line a service runs: its command (the image's entrypoint is `stackelberg`) or those in its sh -c script. */
function stackelbergLines(s: Service): string[][] {
  if (!s.entrypoint) return s.command ? [s.command] : [];
  expect(s.entrypoint).toEqual(["sh", "-c"]);
  return shellCommands((s.command ?? []).join(" "), s.environment ?? {})
    .filter((w) => w[0] === "stackelberg")
    .map((w) => w.slice(1));
}

/** Checks one command line against the commander program: the command, its options, its required options and arguments. */
function checkAgainstCli(argv: string[]): { command: Command; opts: Map<string, string | true> } {
  const [name, ...rest] = argv;
  const command = program.commands.find((c) => c.name() === name);
  expect(command, `stackelberg has no command "${name}"`).toBeDefined();
  const options = (command as unknown as { options: Option[] }).options;
  const opts = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith("--")) {
      positional.push(w);
      continue;
    }
    const [flag, inline] = w.split("=", 2) as [string, string | undefined];
    const opt = options.find((o) => o.long === flag);
    expect(opt, `stackelberg ${name} has no option ${flag}`).toBeDefined();
    const takesValue = opt!.required || opt!.optional;
    opts.set(flag, takesValue ? (inline ?? rest[++i] ?? "") : true);
  }
  for (const o of options.filter((x) => x.mandatory)) expect(opts.has(o.long!), `stackelberg ${name} needs ${o.long}`).toBe(true);
  const args = (command as unknown as { registeredArguments: Array<{ required: boolean }> }).registeredArguments;
  expect(positional.length, `stackelberg ${name}: arguments ${positional.join(" ")}`).toBeGreaterThanOrEqual(args.filter((a) => a.required).length);
  return { command: command!, opts };
}

const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => s.build !== undefined);
const lines = ours.flatMap(([name, s]) => stackelbergLines(s).map((argv) => ({ name, argv })));
const byName = (n: string) => lines.filter((l) => l.name === n).map((l) => checkAgainstCli(l.argv));

describe("docker-compose.yml and Dockerfile", () => {
  it("compose - NATS, auth, market, leader, followers and results, every named volume declared", () => {
    expect(Object.keys(services).sort()).toEqual(["auth", "follower", "leader", "market", "nats", "results"]);
    for (const [name, s] of Object.entries(services))
      for (const v of s.volumes ?? []) {
        const source = v.split(":")[0]!;
        expect(source in compose.volumes, `${name} mounts volume ${source}, which is not declared`).toBe(true);
      }
    // The NATS server is the official image at the project's pinned release, run from the generated config.
    const version = readFileSync(join(ROOT, "scripts", "nats-server.version"), "utf8").trim();
    expect(services.nats!.image).toBe(`nats:${version}-alpine`);
    expect(services.nats!.command!.slice(0, 2)).toEqual(["-c", "/conf/server.conf"]);
    expect(services.nats!.depends_on?.auth?.condition).toBe("service_completed_successfully");
    expect(services.results!.depends_on?.market?.condition).toBe("service_completed_successfully");
  });

  it("compose - every stackelberg command and option it uses exists in the CLI", () => {
    // Each of our services runs stackelberg at least once.
    expect(new Set(lines.map((l) => l.name))).toEqual(new Set(ours.map(([n]) => n)));
    expect(lines.map((l) => `${l.name}:${l.argv[0]}`).sort()).toEqual(
      ["auth:auth", "follower:firm", "leader:firm", "market:market", "results:run"].sort(),
    );
    for (const l of lines) checkAgainstCli(l.argv);
    // The checker itself refuses what the CLI does not have.
    expect(() => checkAgainstCli(["firm", "--no-such-option"])).toThrow(/has no option --no-such-option/);
    expect(() => checkAgainstCli(["deploy"])).toThrow(/has no command "deploy"/);
  });

  it("compose - the experiment it names loads, and the follower replicas claim exactly its followers", () => {
    const [market] = byName("market");
    const config = market!.opts.get("--config") as string;
    const exp = loadExperiment(join(ROOT, config));
    const [auth] = lines.filter((l) => l.name === "auth");
    expect(auth!.argv[1], "auth writes credentials for the market's experiment").toBe(config);
    for (const { opts } of [...byName("leader"), ...byName("follower")]) expect(opts.get("--config")).toBe(config);
    const run = market!.opts.get("--run");
    for (const { opts } of [...byName("leader"), ...byName("follower")]) expect(opts.get("--run")).toBe(run);
    expect(auth!.argv).toContain(run);

    const leaders = (byName("leader")[0]!.opts.get("--firm") as string).split(",");
    const follower = byName("follower")[0]!.opts;
    const pattern = follower.get("--claim") as string;
    const replicas = services.follower!.deploy?.replicas ?? 1;
    // The ids the replicas get, claimed as they claim them (one holder per replica).
    const dir = mkdtempSync(join(tmpdir(), "stk-compose-claims-"));
    try {
      const candidates = exp.firms.map((f) => f.id).filter((id) => matchesClaim(pattern, id));
      const claimed = Array.from({ length: replicas }, (_, i) => claimFirm(dir, candidates, `replica-${i}`, pattern).firmId);
      expect(() => claimFirm(dir, candidates, "one-too-many", pattern)).toThrow(/every matching firm is claimed/);
      // Every firm of the experiment is played by exactly one container, with the role its service says.
      expect([...leaders, ...claimed].sort()).toEqual(exp.firms.map((f) => f.id).sort());
      for (const id of claimed) expect(exp.firms.find((f) => f.id === id)?.role).toBe("follower");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compose - each container holds only its own credentials", () => {
    const creds = (s: Service) => (s.volumes ?? []).filter((v) => /^(auth|[a-z]+-creds|server-conf):/.test(v)).map((v) => v.split(":")[0]);
    expect(creds(services.market!)).toEqual(["market-creds"]);
    expect(creds(services.leader!)).toEqual(["leader-creds"]);
    expect(creds(services.follower!)).toEqual(["follower-creds"]);
    expect(creds(services.results!)).toEqual(["reader-creds"]);
    // The server gets server.conf alone (public keys and permissions), never the auth volume of seeds.
    expect(creds(services.nats!)).toEqual(["server-conf"]);
    // What the auth step copies into each volume (mounted at /creds/<who> in the auth container).
    const script = (services.auth!.command ?? []).join(" ");
    const copies = shellCommands(script, {}).filter((w) => w[0] === "cp");
    const into = new Map(copies.map((w) => [w.at(-1)!, w.slice(1, -1)]));
    expect(Object.fromEntries(into)).toEqual({
      "/creds/market/": ["/auth/market.nk"],
      "/creds/leader/": ["/auth/firm-leader.nk"],
      "/creds/follower/": ["/auth/firm-follower-*.nk"],
      "/creds/reader/": ["/auth/reader.nk", "/auth/auth.json"],
      "/creds/server/": ["/auth/server.conf"],
    });
    // No seed reaches the server's volume.
    for (const [to, files] of into) if (to === "/creds/server/") for (const f of files) expect(f.endsWith(".nk")).toBe(false);
    // The follower glob holds follower ids only: the claim pattern's, never the leader's.
    expect(matchesClaim(byName("follower")[0]!.opts.get("--claim") as string, "leader")).toBe(false);
  });

  it("Dockerfile - multi-stage npm ci build, stackelberg as entrypoint, no download outside npm", () => {
    const froms = dockerfile.match(/^FROM .*/gm) ?? [];
    expect(froms.length).toBe(2);
    expect(dockerfile).toMatch(/^RUN npm ci .*--ignore-scripts/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(dockerfile).not.toMatch(/curl|wget|^ADD .*https?:|go install|apt-get/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["stackelberg"\]$/m);
    // The link that makes `stackelberg` points at the package's bin.
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: { stackelberg: string } };
    expect(dockerfile).toContain(`ln -s /app/${pkg.bin.stackelberg} /usr/local/bin/stackelberg`);
    // The image carries the experiments the compose file names, and every mount point it uses.
    expect(dockerfile).toMatch(/^COPY experiments \.\/experiments$/m);
    const mounts = ours.flatMap(([, s]) => (s.volumes ?? []).map((v) => v.split(":")[1]!));
    const made = /mkdir -p ([^&\n]+)/.exec(dockerfile)?.[1]?.trim().split(/\s+/) ?? [];
    // (mkdir -p makes the parents too; chown -R gives them all to the image's user)
    for (const m of new Set(mounts)) expect(made.some((p) => p === m || p.startsWith(`${m}/`)), `the image makes ${m}, owned by its user`).toBe(true);
    expect(dockerfile).toContain(`chown -R node:node ${["/auth", "/creds", "/claims", "/results"].join(" ")}`);
    // Dockerfile's CMD is a real command line too.
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
    expect(cmd).toEqual(["--help"]);
  });
});
