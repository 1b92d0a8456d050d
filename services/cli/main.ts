#!/usr/bin/env node
// The `stackelberg` command: wires sub-commands to their modules; logic lives beside it.
import { Command } from "commander";
import { runCli } from "./program.js";

// A reader that stops early (`stackelberg solve --json | head -1`) closes the pipe: that ends the
// command quietly, as it does for every Unix tool, instead of an unhandled EPIPE with a stack.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });

await runCli(new Command(), process.argv);
