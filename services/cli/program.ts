import type { Command } from "commander";
import { ConfigError, StackelbergError } from "../errors.js";
import { runExperiment } from "../launcher/run.js";
import { rootLogger } from "../log.js";
import { authCommand } from "./auth.js";
import { conformanceCommand, type ConformanceCommandOptions } from "./conformance.js";
import type { ConnectFlags } from "../auth/index.js";
import { firmCommand } from "./firm.js";
import { marketCommand } from "./market.js";
import { solveCommand } from "./solve.js";

/** Registers every sub-command on `program` and runs it; expected failures exit non-zero without a stack. */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  program
    .name("stackelberg")
    .description("Stackelberg competition between learning firms over NATS")
    .showHelpAfterError();

  program
    .command("solve")
    .description("print the exact equilibria (Stackelberg, Cournot, collusive) of an experiment's market")
    .argument("<config>", "experiment YAML file")
    .option("--json", "print JSON instead of a table")
    .action((config: string, opts: { json?: boolean }) => solveCommand(config, opts));

  program
    .command("run")
    .description("run an experiment end to end: local nats-server (unless --nats), market and firm processes, results in --out")
    .argument("[config]", "experiment YAML file")
    .option("--out <dir>", "output folder (default runs/<run id>)")
    .option("--nats <url>", "use a running NATS server (JetStream on) instead of starting one; needs --auth or --insecure")
    .option("--auth <dir>", "with --nats: the folder `stackelberg auth` wrote for this run (its run id and credentials)")
    .option("--insecure", "with --nats: connect without credentials (a server without auth)")
    .option("--tls-ca <file>", "with --nats tls://...: CA certificate to verify the server")
    .option("--tls-cert <file>", "with --nats tls://...: client certificate (servers that verify clients)")
    .option("--tls-key <file>", "with --nats tls://...: client certificate key")
    .option("--resume <dir>", "continue the run stored in this output folder from its last checkpoint")
    .option("--seed <n>", "override the experiment's seed", parseSeed)
    .option("--no-progress", "no progress bar")
    .action(async (config: string | undefined, opts: { out?: string; nats?: string; auth?: string; insecure?: boolean; tlsCa?: string; tlsCert?: string; tlsKey?: string; resume?: string; progress: boolean; seed?: number }) => {
      const s = await runExperiment(config, { ...opts, logger: rootLogger("launcher") });
      // With a dynamic reference the figures are means over the episode's steps of its path.
      const label = s.reference.kind === "stage-equilibrium" ? "equilibrium" : `${s.reference.kind}, mean over steps`;
      const lines = Object.entries(s.final.firms).map(
        ([id, f]) =>
          `  ${id}: quantity ${f.quantity.toPrecision(8)} (${label} ${f.equilibriumQuantity.toPrecision(8)}, distance ${f.distance.toExponential(2)})`,
      );
      process.stdout.write(
        `run ${s.runId}: ${s.rounds} rounds in ${s.wallSeconds.toFixed(1)} s\n${lines.join("\n")}\n  price ${s.final.priceMean.toPrecision(8)} (${label} ${s.final.equilibriumPrice.toPrecision(8)})\n`,
      );
    });

  program
    .command("auth")
    .description("write a nats-server configuration and one credentials file per component of a run (for runs across machines)")
    .argument("<config>", "experiment YAML file")
    .requiredOption("--out <dir>", "folder for server.conf, auth.json and the <component>.nk credentials files")
    .option("--run <id>", "run id (default <experiment name>-<random>)")
    .option("--listen <host:port>", "address the server listens on", "127.0.0.1:4222")
    .option("--store <dir>", "JetStream store directory in the server config (default <out>/nats-store)")
    .option("--tls-cert <file>", "server TLS certificate (clients then use tls:// URLs)")
    .option("--tls-key <file>", "server TLS key")
    .option("--tls-ca <file>", "CA that client certificates must chain to (mutual TLS)")
    .action((config: string, opts: { out: string; run?: string; listen: string; store?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string }) =>
      authCommand(config, opts),
    );

  withConnection(
    program
      .command("market")
      .description("start the market-clearing service against a NATS server")
      .requiredOption("--config <file>", "experiment YAML file")
      .requiredOption("--nats <url>", "NATS server URL (tls://... for TLS)")
      .requiredOption("--run <id>", "run id (subject namespace)")
      .option("--resume", "continue after the rounds already in the run's JetStream record"),
  ).action((opts: ConnectFlags & { config: string; run: string; resume?: boolean }) => marketCommand(opts));

  withConnection(
    program
      .command("firm")
      .description("host one or more firms of an experiment against a NATS server")
      .requiredOption("--config <file>", "experiment YAML file")
      .requiredOption("--nats <url>", "NATS server URL (tls://... for TLS)")
      .requiredOption("--run <id>", "run id (subject namespace)")
      .requiredOption("--firm <ids>", "comma-separated firm ids to host")
      .option("--out <dir>", "run output folder (checkpoints, learner metrics)")
      .option("--resume", "load policies from the output folder's checkpoints first"),
  ).action((opts: ConnectFlags & { config: string; run: string; firm: string; out?: string; resume?: boolean }) => firmCommand(opts));

  program
    .command("conformance")
    .description(
      "check an outside agent against the protocol (the check plays the market on a nats-server of its own) and print what it got wrong; exit 0 when every check passed, 1 when one failed",
    )
    .argument(
      "[agent...]",
      "the agent's command, after --, with {nats} {run} {firm} {creds} {tier} {role} filled in (also as STK_NATS_URL, STK_RUN_ID, STK_FIRM_ID, STK_CREDS, STK_TIER, STK_ROLE); without it, the check prints them and waits for an agent started by hand",
    )
    .requiredOption("--role <role>", "the agent's role: leader or follower")
    .option("--tier <n>", "the agent's tier (default 0 for a leader, 1 for a follower)")
    .option("--firm <id>", "the agent's firm id (default: its role)")
    .option("--batch <n>", "B, market instances per round", "4")
    .option("--deadline-ms <ms>", "deadline of each move request", "5000")
    .option("--wait <seconds>", "how long the agent has to register (default 60; 600 without an agent command)")
    .option("--port <n>", "port of the check's nats-server (default: a free one)")
    .option("--out <dir>", "keep the credentials, the agent's output (agent.log) and report.json here")
    .option("--json", "print the report as JSON")
    // Bad usage exits with 2, like every other usage error of this command.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((agent: string[], opts: ConformanceCommandOptions) => conformanceCommand(agent, opts));

  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Every error meant for a user derives from StackelbergError: one line, no stack.
    if (err instanceof StackelbergError) {
      process.stderr.write(`stackelberg: ${err.message.split("\n").join("\n  ")}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

/** Adds the connection and security flags every component command takes. */
function withConnection(c: Command): Command {
  return c
    .option("--creds <file|dir>", "credentials: a .nk file, or the folder `stackelberg auth` wrote (picks this component's file)")
    .option("--insecure", "connect without credentials (only for a server without auth; logs a warning)")
    .option("--tls-ca <file>", "CA certificate to verify the server (tls:// URLs)")
    .option("--tls-cert <file>", "client certificate (servers that verify clients)")
    .option("--tls-key <file>", "client certificate key");
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new ConfigError(`--seed must be an integer in [0, 2^32 - 1], got "${v}"`);
  return n;
}
