// The audit port: every step reports what it did (archived, restored, moved, held, deleted) through here.

/** Every action a record may name; the log's reader accepts exactly these. */
export const AUDIT_ACTIONS = [
  'archive',
  'restore',
  'read',
  'verify',
  'gc',
  'tier-move',
  'expire',
  'hold-set',
  'hold-release',
  'extend',
  /** An extension past the limit asked for, waiting for another person's approval (it keeps nothing yet). */
  'extend-request',
  /** A second person approves a request (an extension) as their own act; the approved act is recorded apart. */
  'approve',
  /** A request turned down: it can no longer be approved. */
  'reject',
  'finalize',
  'delete-source',
  /** Originals removed from Argo's artifact repository once the archive holding their copies verified. */
  'delete-originals',
  'emergency-delete',
  'replicate',
  'policy-change',
  /** A tenant's key-encryption key rotated (docs/encryption.md). */
  'key-rotate',
  /** A tenant crypto-shredded: its KEK destroyed, with the key check values as proof. */
  'erase',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditRecord {
  action: AuditAction;
  /** Who did it: a user, a service account, or `strata/<step>`. */
  actor: string;
  /**
   * Whether the actor was established by the platform (the API server, a verified token) rather than taken from a
   * flag or the environment. Recorded as false when absent.
   */
  verified?: boolean;
  /** What it was done to (the record's target): a workflow uid, manifest id, object key. */
  subject: string;
  /** `started`: written before the operation (a read is served only once this is recorded). */
  outcome: 'ok' | 'failed' | 'refused' | 'started';
  reason?: string;
  /** The second person of a two-person operation. */
  approver?: string;
  /** Content hashes involved (manifest ids, policy hashes), `sha256:<hex>` or plain hex. */
  hashes?: string[];
  details?: Record<string, unknown>;
}

export interface AuditLog {
  record(entry: AuditRecord): Promise<void>;
}

/** For callers that must not audit (dry runs, tests of pure code). */
export const discardAudit: AuditLog = { record: async () => {} };
