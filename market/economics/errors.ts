/**
 * Named errors of market/economics and the text of their messages, kept in one place so that
 * validation everywhere names the offending field the same way ("demand.b must be > 0").
 */
import { StackelbergError } from "../../services/errors.js";

/** A model parameter (demand, cost, dynamics, batch, firm list) is invalid; the message names the field. */
export class EconomicsConfigError extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EconomicsConfigError";
  }
}

/** The equilibrium solver cannot produce an equilibrium for this game (none exists, or it diverged). */
export class EquilibriumError extends StackelbergError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EquilibriumError";
  }
}

/** Message text for validation failures; `path` is the dotted field name. */
export const messages = {
  notFinite: (path: string, v: unknown) => `${path} must be a finite number (got ${String(v)})`,
  notPositive: (path: string, v: number) => `${path} must be > 0 (got ${v})`,
  negative: (path: string, v: number) => `${path} must be >= 0 (got ${v})`,
  notPositiveInteger: (path: string, v: unknown) => `${path} must be a positive integer (got ${String(v)})`,
  notNonNegativeInteger: (path: string, v: unknown) => `${path} must be a non-negative integer (got ${String(v)})`,
  outOfRange: (path: string, v: number, range: string) => `${path} must be in ${range} (got ${v})`,
  unknownKind: (path: string, v: unknown) => `${path}.kind is not a known kind (got ${JSON.stringify(v)})`,
  notObject: (path: string) => `${path} must be an object`,
  wrongLength: (path: string, expected: number, got: number) => `${path} must have length ${expected} (got ${got})`,
  lbdOrder: (path: string, c0: number, cMin: number) => `${path}.cMin must be <= ${path}.c0 (got cMin=${cMin}, c0=${c0})`,
} as const;

/** Throws EconomicsConfigError unless `v` is a finite number. */
export function requireFinite(path: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new EconomicsConfigError(messages.notFinite(path, v));
  return v;
}

/** Throws unless `v` is a finite number > 0. */
export function requirePositive(path: string, v: unknown): number {
  const x = requireFinite(path, v);
  if (!(x > 0)) throw new EconomicsConfigError(messages.notPositive(path, x));
  return x;
}

/** Throws unless `v` is a finite number >= 0. */
export function requireNonNegative(path: string, v: unknown): number {
  const x = requireFinite(path, v);
  if (!(x >= 0)) throw new EconomicsConfigError(messages.negative(path, x));
  return x;
}
