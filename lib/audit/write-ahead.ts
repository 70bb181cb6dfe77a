// Write-ahead auditing, as Vault's audit devices: an operation's record is written before the operation, and an
// operation whose record cannot be written does not happen.
import { AuditRefusal, describeError } from '../errors.ts';
import type { AuditLog, AuditRecord } from './audit.ts';

export type Intent = Omit<AuditRecord, 'outcome'>;

/**
 * Records that an operation is about to happen (outcome `started`). Throws AuditRefusal, naming the operation,
 * when the record cannot be written: the caller must then change nothing.
 */
export async function recordIntent(audit: AuditLog, intent: Intent): Promise<void> {
  try {
    await audit.record({ ...intent, outcome: 'started' });
  } catch (err) {
    throw new AuditRefusal(
      `${intent.action} of ${intent.subject} refused: its audit record could not be written (${describeError(err)})`,
      undefined,
      { cause: err },
    );
  }
}

/**
 * Runs an operation between its `started` record and its outcome record. Nothing runs unless the first is
 * written; a failure of the operation is recorded (as `failed`) before it is rethrown. A closing record that
 * cannot be written throws AuditError (exit 3): the operation happened, and the caller must say so.
 */
export async function auditedOperation<T>(
  audit: AuditLog,
  intent: Intent,
  operation: () => Promise<T>,
  closing: (result: T) => Partial<AuditRecord> = () => ({}),
): Promise<T> {
  await recordIntent(audit, intent);
  let result: T;
  try {
    result = await operation();
  } catch (err) {
    await audit.record({ ...intent, outcome: 'failed', reason: describeError(err) }).catch(() => {});
    throw err;
  }
  await audit.record({ ...intent, outcome: 'ok', ...closing(result) });
  return result;
}
