import { join, resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError, StackelbergError } from "../errors.js";
import { runExperiment } from "../launcher/run.js";
import { rootLogger } from "../log.js";
import { authCommand } from "./auth.js";
import { conformanceCommand, type ConformanceCommandOptions } from "./conformance.js";
import type { ConnectFlags } from "../auth/index.js";
import { firmCommand } from "./firm.js";
import { marketCommand } from "./market.js";
import { compareCommand, reportCommand } from "./report.js";
import { evaluateRun } from "./evaluate.js";
import { printRunSummary } from "./run-output.js";
import { solveCommand } from "./solve.js";
import { packageVersion } from "../report/run-data.js";

/** Exit codes of every command (also in README.md). */
export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    conformance: a check failed; any command: an internal error (printed with its stack trace)
  2    bad usage or input, or a run that failed (one line: "stackelberg: ...")
  130  interrupted (Ctrl-C or SIGTERM)`;

/** Help text after a command's options: its examples. */
function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? "s" : ""}:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;
}

/** Registers every sub-command on `program` and runs it; expected failures exit non-zero without a stack. */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  defineCommands(program);
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

/** Registers every sub-command and option on `program` (tests read the command line from it). */
export function defineCommands(program: Command): Command {
  program
    .name("stackelberg")
    .description("Stackelberg competition between learning firms over NATS")
    .version(packageVersion())
    .showHelpAfterError()
    // Usage errors exit with 2 like every other bad input; --help and --version with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .addHelpText(
      "after",
      `${examples(
        "stackelberg solve experiments/duopoly-linear.yaml",
        "stackelberg run experiments/duopoly-linear.yaml --out runs/duopoly",
        "stackelberg report runs/duopoly",
        "stackelberg compare runs/seed1 runs/seed2 runs/seed3 --out comparison.html",
      )}\n${EXIT_CODES_HELP}`,
    );

  program
    .command("solve")
    .description("print the exact equilibria (Stackelberg, Cournot, collusive) of an experiment's market")
    .argument("<config>", "experiment YAML file")
    .option("--json", "print JSON instead of a table")
    .addHelpText("after", examples("stackelberg solve experiments/duopoly-linear.yaml", "stackelberg solve experiments/duopoly-linear.yaml --json | jq .stackelberg.price"))
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
    .option("--hosts <n>", "firm host processes, the firms split among them (default: the config's deployment.hosts, else min(firms, 4))", parseHosts)
    .option("--no-progress", "no progress bar")
    .option("--quiet", "print nothing but errors: no progress bar, no summary, warnings-only logs")
    .option("--json", "print the summary as one JSON object on stdout (with the output folder and report), no progress bar")
    .addHelpText(
      "after",
      `\nWrites to the output folder: config.yaml, equilibrium.json, metrics.jsonl, metrics.csv, summary.json, report.html, logs/, auth/ (and checkpoints/, learners/ for learning firms).${examples(
        "stackelberg run experiments/duopoly-linear.yaml --out runs/duopoly",
        "stackelberg run experiments/ppo-duopoly-alternating.yaml --seed 2 --out runs/ppo-2",
        "stackelberg run --resume runs/ppo-2",
        "stackelberg run experiments/duopoly-linear.yaml --json --out runs/x | jq .summary.final.distance",
        "stackelberg run many-firms.yaml --hosts 8 --out runs/many",
      )}`,
    )
    .action(async (config: string | undefined, opts: { out?: string; nats?: string; auth?: string; insecure?: boolean; tlsCa?: string; tlsCert?: string; tlsKey?: string; resume?: string; progress: boolean; seed?: number; hosts?: number; quiet?: boolean; json?: boolean }) => {
      const { quiet, json, ...runOpts } = opts;
      const scripted = quiet || json;
      const s = await runExperiment(config, {
        ...runOpts,
        ...(scripted ? { progress: false } : {}),
        logger: rootLogger("launcher", process.env.LOG_LEVEL ?? (scripted ? "warn" : "info")),
      });
      if (quiet) return;
      printRunSummary(s, resolve(opts.resume ?? opts.out ?? join("runs", s.runId)), json);
    });

  program
    .command("evaluate")
    .description(
      "decentralized execution of a trained run's policies: replay its experiment with every firm frozen and greedy, no training-only message (CTDE evaluation)",
    )
    .argument("<run-dir>", "the trained run's output folder (config.yaml and checkpoints/)")
    .option("--rounds <n>", "rounds to play, rounded up to whole episodes (default 100)", parsePositiveInt)
    .option("--out <dir>", "output folder (default <run-dir>-evaluation)")
    .option("--seed <n>", "override the experiment's seed (the market's shocks and the firms' exploration streams)", parseSeed)
    .option("--no-progress", "no progress bar")
    .option("--quiet", "print nothing but errors")
    .option("--json", "print the summary as one JSON object on stdout (with the output folder and report)")
    .addHelpText(
      "after",
      `\nWrites a run output folder (evaluation.yaml, evaluation.json, checkpoints/ copied from the trained run, summary.json, report.html...). Learners load their checkpoints or the run fails; the market publishes nothing on the training subject and no firm may subscribe to it.${examples(
        "stackelberg evaluate runs/mappo   # after: stackelberg run experiments/mappo-two-leaders-two-followers.yaml --out runs/mappo",
        "stackelberg evaluate runs/mappo --rounds 200 --out runs/mappo-eval --json | jq .summary.final.distance",
      )}`,
    )
    .action(async (runDir: string, opts: { rounds?: number; out?: string; seed?: number; progress: boolean; quiet?: boolean; json?: boolean }) => {
      const scripted = opts.quiet || opts.json;
      const { summary, out } = await evaluateRun(runDir, {
        ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        progress: scripted ? false : opts.progress,
        logger: rootLogger("launcher", process.env.LOG_LEVEL ?? (scripted ? "warn" : "info")),
      });
      if (!opts.quiet) printRunSummary(summary, out, opts.json);
    });

  program
    .command("report")
    .description("write a run's self-contained HTML report (charts against the equilibria; opens offline); `run` writes it at the end of every run")
    .argument("<dir>", "the run's output folder (what `stackelberg run --out` wrote)")
    .option("--out <file>", "where to write the report (default <dir>/report.html)")
    .option("--svg <dir>", "also write each chart as a standalone SVG file, <dir>/<run folder name>-<chart>.svg")
    .option("--json", "print what was written as JSON ({file, bytes, charts, notes, svgFiles})")
    .option("--quiet", "print nothing but errors")
    .addHelpText(
      "after",
      examples(
        "stackelberg report runs/duopoly",
        "stackelberg report runs/duopoly --out /tmp/duopoly.html --json",
        "stackelberg report runs/duopoly --svg docs/figures",
      ),
    )
    .action((dir: string, opts: { out?: string; svg?: string; json?: boolean; quiet?: boolean }) => reportCommand(dir, opts));

  program
    .command("compare")
    .description("write one HTML report of several runs side by side: final outcomes and overlaid curves (seeds of one experiment as a band)")
    .argument("<dirs...>", "run output folders")
    .option("--out <file>", "where to write the comparison", "comparison.html")
    .option("--svg <dir>", "also write each chart as a standalone SVG file, <dir>/<comparison file name>-<chart>.svg")
    .option("--json", "print what was written as JSON ({file, bytes, charts, notes, svgFiles})")
    .option("--quiet", "print nothing but errors")
    .addHelpText(
      "after",
      examples(
        "stackelberg compare runs/ppo-1 runs/ppo-2 runs/ppo-3 runs/hedge-1 --out ppo-vs-hedge.html",
        "stackelberg compare runs/* --json",
        "stackelberg compare runs/ppo-1 runs/ppo-2 --out ppo.html --svg docs/figures",
      ),
    )
    .action((dirs: string[], opts: { out: string; svg?: string; json?: boolean; quiet?: boolean }) => compareCommand(dirs, opts));

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
    .option(
      "--cluster <nodes>",
      "a NATS cluster: name=host:port of each node's route listener (port 6222 by default); writes server-<name>.conf per node instead of server.conf",
    )
    .addHelpText(
      "after",
      examples(
        "stackelberg auth experiments/duopoly-linear.yaml --out deploy --listen 0.0.0.0:4222",
        "nats-server -c deploy/server.conf    # then market and firms with --creds deploy",
        "stackelberg auth x.yaml --out deploy --listen 0.0.0.0:4222 --cluster n1=10.0.0.1:6222,n2=10.0.0.2:6222,n3=10.0.0.3:6222",
      ),
    )
    .action((config: string, opts: { out: string; run?: string; listen: string; store?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string; cluster?: string }) =>
      authCommand(config, opts),
    );

  withConnection(
    program
      .command("market")
      .description("start the market-clearing service against a NATS server")
      .requiredOption("--config <file>", "experiment YAML file")
      .requiredOption("--nats <url>", "NATS server URL (tls://... for TLS)")
      .requiredOption("--run <id>", "run id (subject namespace)")
      .option("--resume", "continue after the rounds already in the run's JetStream record")
      .option("--replicas <n>", "copies of the run's record stream on a NATS cluster (a new stream only)", "1")
      .addHelpText(
        "after",
        examples(
          "stackelberg market --config experiments/duopoly-linear.yaml --nats nats://host:4222 --run RUN_ID --creds deploy",
          "stackelberg market --config x.yaml --nats nats://a:4222,nats://b:4222,nats://c:4222 --run RUN_ID --creds deploy --replicas 3",
        ),
      ),
  ).action((opts: ConnectFlags & { config: string; run: string; resume?: boolean; replicas?: string }) => marketCommand(opts));

  withConnection(
    program
      .command("firm")
      .description("host one or more firms of an experiment against a NATS server")
      .requiredOption("--config <file>", "experiment YAML file")
      .requiredOption("--nats <url>", "NATS server URL (tls://... for TLS)")
      .requiredOption("--run <id>", "run id (subject namespace)")
      .option("--firm <ids>", "comma-separated firm ids to host (or --claim)")
      .option(
        "--claim <pattern>",
        "host one firm: the first of the experiment's firms matching the pattern ('*' any characters, ',' alternatives) not claimed yet in --claim-dir (replicas that do not know which firm they are)",
      )
      .option("--claim-dir <dir>", "with --claim: a folder shared by every claiming process (one <firm>.claim file per firm; a clean exit removes it)")
      .option("--claim-as <name>", "with --claim: who claims (default: the host name, in a container its id); started again under the same name, it gets the same firm")
      .option("--out <dir>", "run output folder (checkpoints, learner metrics)")
      .option("--resume", "load policies from the output folder's checkpoints first")
      .addHelpText(
        "after",
        examples(
          "stackelberg firm --config experiments/duopoly-linear.yaml --nats nats://host:4222 --run RUN_ID --firm follower --creds deploy --out runs/x",
          "stackelberg firm --config x.yaml --nats nats://nats:4222 --run RUN_ID --claim 'follower-*' --claim-dir /claims --creds /creds    # one of N replicas",
        ),
      ),
  ).action((opts: ConnectFlags & { config: string; run: string; firm?: string; claim?: string; claimDir?: string; claimAs?: string; out?: string; resume?: boolean }) =>
    firmCommand(opts),
  );

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
    .option("--no-refusal", "skip the last check (the agent started again and refused at registration must exit non-zero)")
    .addHelpText(
      "after",
      examples(
        "stackelberg conformance --role follower -- python -m my_agent --nats {nats} --run {run} --firm {firm} --creds {creds}",
        "stackelberg conformance --role leader --json -- ./my-agent    # reads STK_NATS_URL, STK_RUN_ID, ...",
      ),
    )
    // Bad usage exits with 2, like every other usage error of this command.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((agent: string[], opts: ConformanceCommandOptions) => conformanceCommand(agent, opts));
  return program;
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

function parseHosts(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--hosts must be a positive integer, got "${v}"`);
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`expected a positive integer, got "${v}"`);
  return n;
}
