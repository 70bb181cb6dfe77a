// The audit port: every step reports what it did (archived, restored, moved, held, deleted) through here.

export type AuditAction =
  | 'archive'
  | 'restore'
  | 'verify'
  | 'gc'
  | 'tier-move'
  | 'expire'
  | 'hold-set'
  | 'hold-release'
  | 'extend'
  | 'finalize'
  | 'delete-source'
  | 'emergency-delete'
  | 'policy-change';

export interface AuditRecord {
  action: AuditAction;
  /** Who did it: a user, a service account, or `strata/<step>`. */
  actor: string;
  /** What it was done to: a workflow uid, manifest id, object key. */
  subject: string;
  outcome: 'ok' | 'failed' | 'refused';
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AuditLog {
  record(entry: AuditRecord): Promise<void>;
}

/** For callers that must not audit (dry runs, tests of pure code). */
export const discardAudit: AuditLog = { record: async () => {} };
