// The audit writer: each process appends its records under its own sequence (audit/pending/<writer>/<seq>.json),
// create-only, so parallel writers never collide; the sequencer (store-log.ts) seals them into the Merkle log.
import { randomBytes } from 'node:crypto';
import { AuditError, describeError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import type { AuditLog, AuditRecord } from './audit.ts';
import { PENDING_PREFIX, type WrittenRecord } from './log-format.ts';

/** A writer id that sorts by start time and is unique across pods: `<yyyymmddThhmmss>-<random>`. */
export function newWriterId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(6).toString('hex')}`;
}

export const pendingKey = (writer: string, seq: number) =>
  `${PENDING_PREFIX}${writer}/${String(seq).padStart(10, '0')}.json`;

export function createStoreAuditLog(store: ObjectStore, now: () => Date = () => new Date()): AuditLog {
  const writer = newWriterId(now());
  let next = 0;
  return {
    async record(entry: AuditRecord) {
      const seq = next++;
      const key = pendingKey(writer, seq);
      const written: WrittenRecord = {
        at: now().toISOString(),
        ...entry,
        verified: entry.verified === true,
        writer,
        seq,
      };
      const body = Buffer.from(JSON.stringify(written) + '\n');
      try {
        await store.put(key, body, { ifNoneMatch: true, contentType: 'application/json' });
      } catch (err) {
        throw new AuditError(
          `audit record of ${entry.action} ${entry.subject} not written: ${describeError(err)}`,
          undefined,
          { cause: err },
        );
      }
    },
  };
}
