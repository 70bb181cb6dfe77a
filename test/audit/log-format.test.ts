// Every action the audit port can record must read back from the log: a record the reader drops is a silent gap.
import { expect, test } from 'vitest';
import { AUDIT_ACTIONS, type AuditRecord } from '../../lib/audit/audit.ts';
import { parseWrittenRecord } from '../../lib/audit/log-format.ts';

test.each(AUDIT_ACTIONS)('a %s record written by the port reads back from the log', (action) => {
  const record: AuditRecord & { at: string } = {
    at: '2026-11-30T00:00:00.000Z',
    action,
    actor: 'alice',
    verified: true,
    subject: 'uid-1',
    outcome: 'ok',
  };
  expect(parseWrittenRecord(JSON.stringify(record))).toMatchObject({ action, actor: 'alice', verified: true });
});

test('an action the port does not know is not a record', () => {
  const text = JSON.stringify({
    at: '2026-11-30T00:00:00.000Z',
    action: 'teleport',
    actor: 'a',
    subject: 's',
    outcome: 'ok',
  });
  expect(parseWrittenRecord(text)).toBeUndefined();
});
