/**
 * The identities of a run: one per component (the market, the results reader, each firm), each with
 * the permissions services/bus/permissions.ts derives for it and the file its credentials go in.
 */
import { type Identity, type Permissions, permissionsOf, runSubjects } from "../bus/index.js";
import { type Experiment, receivesTrainingInfo } from "../config/index.js";

/** One component of a run as the server knows it. */
export interface RunIdentity {
  /** "market", "reader" or "firm-<id>": the credentials file is `<name>.nk`. */
  readonly name: string;
  readonly identity: Identity;
  readonly permissions: Permissions;
  /** The request/reply inbox prefix the component must connect with. */
  readonly inbox: string;
}

/** File name of a component's credentials (an nkey seed) inside an auth folder. */
export function credsFile(name: string): string {
  return `${name}.nk`;
}

/** Name of an identity in an auth folder: "market", "reader" or "firm-<id>". */
export function identityName(who: Identity): string {
  return who.role === "firm" ? `firm-${who.firmId}` : who.role;
}

/** Every identity of run `runId` of experiment `exp`, market first, then the reader, then firms in id order. */
export function identitiesOf(exp: Experiment, runId: string): RunIdentity[] {
  const s = runSubjects(runId);
  const who: Identity[] = [
    { role: "market", training: exp.firms.some((f) => receivesTrainingInfo(f.policy.kind, exp.training.schedule)) },
    { role: "reader" },
    ...exp.firms.map((f): Identity => ({ role: "firm", firmId: f.id, tier: f.tier, ctde: receivesTrainingInfo(f.policy.kind, exp.training.schedule) })),
  ];
  return who.map((identity) => ({ name: identityName(identity), identity, permissions: permissionsOf(s, identity), inbox: s.inbox(identity) }));
}
