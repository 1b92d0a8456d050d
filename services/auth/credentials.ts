/**
 * Reads a component's credentials file into a NATS authenticator: an nkey seed (`.nk`, what
 * `stackelberg auth` writes) or a decentralized-auth `.creds` file (user JWT + seed), for
 * deployments whose operator issues those.
 */
import { readFileSync, statSync } from "node:fs";
import { credsAuthenticator, nkeyAuthenticator, type Authenticator } from "@nats-io/transport-node";
import { AuthError } from "../errors.js";

/** The authenticator for `file`; an AuthError naming the file when it holds neither format. */
export function authenticatorFrom(file: string): { authenticator: Authenticator; worldReadable: boolean } {
  let text: string;
  let mode = 0;
  try {
    text = readFileSync(file, "utf8");
    mode = statSync(file).mode;
  } catch (err) {
    throw new AuthError(`--creds ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const worldReadable = (mode & 0o077) !== 0;
  if (text.includes("-----BEGIN NATS USER JWT-----"))
    return { authenticator: credsAuthenticator(new TextEncoder().encode(text)), worldReadable };
  const seed = text.trim();
  // A user nkey seed: "SU" followed by base32 characters.
  if (!/^SU[A-Z2-7]{50,}$/.test(seed))
    throw new AuthError(`--creds ${file}: not an nkey user seed (SU...) nor a .creds file; use a file written by \`stackelberg auth\``);
  return { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), worldReadable };
}
