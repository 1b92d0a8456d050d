#!/usr/bin/env node
// The `stackelberg` command: wires sub-commands to their modules; logic lives beside it.
import { Command } from "commander";
import { runCli } from "./program.js";

await runCli(new Command(), process.argv);
