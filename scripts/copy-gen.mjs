// tsc does not emit the generated protobuf module (plain JS); copy it beside the compiled code.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(root, "services", "bus", "gen");
const to = join(root, "dist", "services", "bus", "gen");
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f));
