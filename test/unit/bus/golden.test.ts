import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pb } from "../../../services/bus/codec.js";

// The golden encodings of proto/testdata/ (written by scripts/gen-golden.mjs; contract in its README).
const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "proto", "testdata");

/** The proto3 JSON mapping; the same options as scripts/gen-golden.mjs. */
const JSON_OPTIONS = { longs: String, enums: String, bytes: String, json: true };

interface MessageType {
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  fromObject(object: Record<string, unknown>): object;
  toObject(message: object, options: typeof JSON_OPTIONS): Record<string, unknown>;
}

/** Top-level message types of package stackelberg.v1, from the generated code (enums are plain objects). */
const types = new Map<string, MessageType>(
  Object.entries(pb as unknown as Record<string, unknown>)
    .filter(([, v]) => typeof v === "function" && typeof (v as Partial<MessageType>).encode === "function")
    .map(([k, v]) => [k, v as MessageType]),
);

const bins = readdirSync(dir)
  .filter((f) => f.endsWith(".bin"))
  .sort();
const cases = bins.map((f) => {
  const [message, name] = f.slice(0, -".bin".length).split(".");
  return { file: f, message: message!, name: name! };
});

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("golden", () => {
  it("golden - every message type of stackelberg.v1 has at least one case", () => {
    expect(types.size).toBeGreaterThan(0);
    const covered = new Set(cases.map((c) => c.message));
    expect([...types.keys()].filter((t) => !covered.has(t))).toEqual([]);
  });

  it("golden - every case names a message of the proto and has its .json", () => {
    const files = new Set(readdirSync(dir));
    for (const c of cases) {
      expect(types.has(c.message), c.file).toBe(true);
      expect(files.has(`${c.message}.${c.name}.json`), c.file).toBe(true);
    }
    const jsons = [...files].filter((f) => f.endsWith(".json"));
    expect(jsons.length).toBe(bins.length);
  });

  it.each(cases)("golden - $message.$name: decode, re-encode byte for byte; JSON form and back", ({ file, message }) => {
    const type = types.get(message)!;
    const bytes = new Uint8Array(readFileSync(join(dir, file)));
    const expectedJson = JSON.parse(readFileSync(join(dir, file.replace(/\.bin$/, ".json")), "utf8"));

    const decoded = type.decode(bytes);
    expect(hex(type.encode(decoded).finish())).toBe(hex(bytes));

    const json = JSON.parse(JSON.stringify(type.toObject(decoded, JSON_OPTIONS)));
    expect(json).toEqual(expectedJson);

    expect(hex(type.encode(type.fromObject(expectedJson)).finish())).toBe(hex(bytes));
  });
});
