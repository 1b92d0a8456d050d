// Compiles proto/stackelberg/v1/*.proto ahead of time into a static protobufjs module plus
// TypeScript declarations (services/bus/gen/). Nothing parses .proto files at run time.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoDir = join(root, "proto", "stackelberg", "v1");
const outDir = join(root, "services", "bus", "gen");
const bin = join(root, "node_modules", ".bin");
const protos = readdirSync(protoDir).filter((f) => f.endsWith(".proto")).map((f) => join(protoDir, f));
const outJs = join(outDir, "stackelberg.js");
const outDts = join(outDir, "stackelberg.d.ts");

const newest = Math.max(...protos.map((p) => statSync(p).mtimeMs), statSync(import.meta.filename).mtimeMs);
let upToDate = false;
try {
  upToDate = statSync(outJs).mtimeMs > newest && statSync(outDts).mtimeMs > newest;
} catch {
  upToDate = false;
}
if (!upToDate) {
  mkdirSync(outDir, { recursive: true });
  execFileSync(join(bin, "pbjs"), ["-t", "static-module", "-w", "esm", "--force-number", "--no-verify", "--no-delimited", "--no-service", "-p", join(root, "proto"), "-o", outJs, ...protos], { stdio: "inherit" });
  execFileSync(join(bin, "pbts"), ["-o", outDts, outJs], { stdio: "inherit" });
  console.log(`proto: generated ${outJs}`);
}
