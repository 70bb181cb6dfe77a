// Audit records for external systems (pure): JSON Lines, RFC 5424 syslog, ArcSight CEF, CloudEvents. Every line
// carries the record's id — the leaf hash of its sealed entry, stable and unique — so receivers deduplicate.
import type { WrittenRecord } from './log-format.ts';

export interface ExportedRecord {
  /** Hex leaf hash of the sealed entry. */
  id: string;
  /** Index in the log. */
  index: number;
  record: WrittenRecord;
}

export type ExportFormat = 'jsonl' | 'syslog' | 'cef';

export function toJsonLine(e: ExportedRecord): string {
  return JSON.stringify({ id: e.id, index: e.index, ...e.record });
}

const troubled = (r: WrittenRecord) => r.outcome === 'failed' || r.outcome === 'refused';

/** RFC 5424: facility security/authorization (10); severity notice (5), warning (4) when failed or refused. */
export function toSyslog(e: ExportedRecord, hostname = '-'): string {
  const r = e.record;
  const pri = 10 * 8 + (troubled(r) ? 4 : 5);
  const sdValue = (v: unknown) => String(v).replace(/[\\"\]]/g, (c) => `\\${c}`);
  const params: Array<[string, unknown]> = [
    ['id', e.id],
    ['index', e.index],
    ['action', r.action],
    ['outcome', r.outcome],
    ['actor', r.actor],
    ['verified', r.verified],
    ['subject', r.subject],
    ...(r.approver ? ([['approver', r.approver]] as Array<[string, unknown]>) : []),
  ];
  const sd = `[strata@32473 ${params.map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ')}]`;
  const msgId = r.action.slice(0, 32);
  return `<${pri}>1 ${r.at} ${hostname || '-'} strata - ${msgId} ${sd} ${JSON.stringify(r)}`;
}

/** CEF:0 with the record's fields as standard keys where they exist (rt, suser, act, outcome, externalId, msg). */
export function toCef(e: ExportedRecord): string {
  const r = e.record;
  const header = (v: string) => v.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
  const ext = (v: unknown) =>
    String(v)
      .replace(/[\\=]/g, (c) => `\\${c}`)
      .replace(/\r?\n/g, '\\n');
  const fields: Array<[string, unknown]> = [
    ['rt', new Date(r.at).getTime()],
    ['externalId', e.id],
    ['cn1Label', 'index'],
    ['cn1', e.index],
    ['act', r.action],
    ['outcome', r.outcome],
    ['suser', r.actor],
    ['cs1Label', 'subject'],
    ['cs1', r.subject],
    ['cs2Label', 'verified'],
    ['cs2', r.verified],
    ...(r.approver
      ? ([
          ['cs3Label', 'approver'],
          ['cs3', r.approver],
        ] as Array<[string, unknown]>)
      : []),
    ...(r.reason ? ([['msg', r.reason]] as Array<[string, unknown]>) : []),
  ];
  const severity = troubled(r) ? 7 : 3;
  return (
    `CEF:0|Strata|Strata|1|${header(r.action)}|${header(`${r.action} ${r.outcome}`)}|${severity}|` +
    fields.map(([k, v]) => `${k}=${ext(v)}`).join(' ')
  );
}

export function formatRecord(e: ExportedRecord, format: ExportFormat): string {
  return format === 'jsonl' ? toJsonLine(e) : format === 'syslog' ? toSyslog(e) : toCef(e);
}

/** A CloudEvents 1.0 event in structured mode. */
export function toCloudEvent(e: ExportedRecord, source: string): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: e.id,
    source,
    type: `dev.strata.audit.${e.record.action}`,
    subject: e.record.subject,
    time: e.record.at,
    datacontenttype: 'application/json',
    data: { index: e.index, ...e.record },
  };
}
