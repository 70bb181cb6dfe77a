// Typed errors for every area, each carrying the exit code the CLI maps it to and where it happened.

/**
 * `Unaudited`: the command did its work (and printed its result) but its audit record could not be written.
 * `Refused`: the caller may not do this (a permission or an approval is missing): trying again changes nothing, so the
 * templates' retry expressions leave it alone, as they do `Usage`.
 */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Unaudited: 3, Refused: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where an error happened: a file (with line/column), an object key, a rule, a workflow. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  key?: string;
  rule?: string;
  workflow?: string;
}

export class StrataError extends Error {
  readonly exitCode: ExitCode = ExitCode.Failed;
  readonly location: ErrorLocation | undefined;

  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.location = location;
  }

  /** One line: `where: what`. */
  describe(): string {
    const where = formatLocation(this.location);
    return where ? `${where}: ${this.message}` : this.message;
  }
}

/** Bad flags, bad configuration, bad policy files: the user must change something (exit 2). */
export class ConfigError extends StrataError {
  override readonly exitCode: ExitCode = ExitCode.Usage;
}

/** Object store failures (unreachable endpoint, denied, missing object). */
export class StoreError extends StrataError {}

/** A key that does not exist in the store. */
export class NotFoundError extends StoreError {}

/** A conditional write lost: the key already exists. */
export class AlreadyExistsError extends StoreError {}

/** A read of an archived (GLACIER/DEEP_ARCHIVE) object that has not been restored (S3 InvalidObjectState). */
export class ArchivedObjectError extends StoreError {}

/** Data that does not match its checksum, or a structure that does not parse. */
export class IntegrityError extends StrataError {}

/** Input the user gave us that we cannot read (malformed workflow YAML, hostile artifact paths). */
export class InputError extends StrataError {}

/** An audit record that could not be written (exit 3 when it is the only failure). */
export class AuditError extends StrataError {
  override readonly exitCode: ExitCode = ExitCode.Unaudited;
}

/** An operation refused, with nothing changed, because its audit record could not be written first (exit 1). */
export class AuditRefusal extends StrataError {}

/** Policy files that do not validate or CEL that does not compile. */
export class PolicyError extends ConfigError {}

/** The caller lacks a permission (Kubernetes RBAC on strata.dev resources), or an approval is missing or invalid. */
export class AccessDeniedError extends StrataError {
  override readonly exitCode: ExitCode = ExitCode.Refused;
}

/** Kubernetes / Argo API failures. */
export class ClusterError extends StrataError {}

export function formatLocation(loc: ErrorLocation | undefined): string {
  if (!loc) return '';
  const parts: string[] = [];
  if (loc.file) {
    let f = loc.file;
    if (loc.line !== undefined) f += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) f += `:${loc.column}`;
    parts.push(f);
  }
  if (loc.key) parts.push(`key ${loc.key}`);
  if (loc.rule) parts.push(`rule "${loc.rule}"`);
  if (loc.workflow) parts.push(`workflow ${loc.workflow}`);
  return parts.join(', ');
}

/** Turns anything thrown into one clear line, without a stack. */
export function describeError(err: unknown): string {
  if (err instanceof StrataError) return err.describe();
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof StrataError ? err.exitCode : ExitCode.Failed;
}
