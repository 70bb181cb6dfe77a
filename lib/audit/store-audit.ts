// Audit records kept in the object store, one immutable object each, under audit/records/.
import { randomBytes } from 'node:crypto';
import { AuditError, describeError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import type { AuditLog, AuditRecord } from './audit.ts';

export const AUDIT_PREFIX = 'audit/records/';

export function createStoreAuditLog(store: ObjectStore, now: () => Date = () => new Date()): AuditLog {
  return {
    async record(entry: AuditRecord) {
      const at = now().toISOString();
      const key = `${AUDIT_PREFIX}${at.slice(0, 10)}/${at}-${randomBytes(6).toString('hex')}.json`;
      const body = Buffer.from(JSON.stringify({ at, ...entry }) + '\n');
      try {
        await store.put(key, body, { ifNoneMatch: true, contentType: 'application/json' });
      } catch (err) {
        throw new AuditError(
          `audit record of ${entry.action} ${entry.subject} not written: ${describeError(err)}`,
          undefined,
          {
            cause: err,
          },
        );
      }
    },
  };
}
