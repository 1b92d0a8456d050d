import type { Command } from "commander";
import { EconomicsConfigError, EquilibriumError } from "../../market/economics/index.js";
import { ConfigError, Interrupted, ProtocolError, RuntimeFailure } from "../errors.js";
import { runExperiment } from "../launcher/run.js";
import { rootLogger } from "../log.js";
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
    .option("--nats <url>", "use a running NATS server (JetStream on) instead of starting one")
    .option("--resume <dir>", "continue the run stored in this output folder from its last checkpoint")
    .option("--seed <n>", "override the experiment's seed", parseSeed)
    .option("--no-progress", "no progress bar")
    .action(async (config: string | undefined, opts: { out?: string; nats?: string; resume?: string; progress: boolean; seed?: number }) => {
      const s = await runExperiment(config, { ...opts, logger: rootLogger("launcher") });
      const lines = Object.entries(s.final.firms).map(
        ([id, f]) =>
          `  ${id}: quantity ${f.quantity.toPrecision(8)} (equilibrium ${f.equilibriumQuantity.toPrecision(8)}, distance ${f.distance.toExponential(2)})`,
      );
      process.stdout.write(
        `run ${s.runId}: ${s.rounds} rounds in ${s.wallSeconds.toFixed(1)} s\n${lines.join("\n")}\n  price ${s.final.priceMean.toPrecision(8)} (equilibrium ${s.final.equilibriumPrice.toPrecision(8)})\n`,
      );
    });

  program
    .command("market")
    .description("start the market-clearing service against a NATS server")
    .requiredOption("--config <file>", "experiment YAML file")
    .requiredOption("--nats <url>", "NATS server URL")
    .requiredOption("--run <id>", "run id (subject namespace)")
    .option("--resume", "continue after the rounds already in the run's JetStream record")
    .action((opts: { config: string; nats: string; run: string; resume?: boolean }) => marketCommand(opts));

  program
    .command("firm")
    .description("host one or more firms of an experiment against a NATS server")
    .requiredOption("--config <file>", "experiment YAML file")
    .requiredOption("--nats <url>", "NATS server URL")
    .requiredOption("--run <id>", "run id (subject namespace)")
    .requiredOption("--firm <ids>", "comma-separated firm ids to host")
    .option("--out <dir>", "run output folder (checkpoints, learner metrics)")
    .option("--resume", "load policies from the output folder's checkpoints first")
    .action((opts: { config: string; nats: string; run: string; firm: string; out?: string; resume?: boolean }) => firmCommand(opts));

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof ProtocolError ||
      err instanceof RuntimeFailure ||
      err instanceof EconomicsConfigError ||
      err instanceof EquilibriumError
    ) {
      process.stderr.write(`stackelberg: ${err.message}\n`);
      process.exitCode = err instanceof Interrupted ? err.exitCode : 2;
      return;
    }
    throw err;
  }
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new ConfigError(`--seed must be an integer in [0, 2^32 - 1], got "${v}"`);
  return n;
}
