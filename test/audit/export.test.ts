// strata audit export: the verified log as JSON Lines, RFC 5424 syslog and CEF, and a CloudEvents webhook sink that
// retries with backoff, resumes from its cursor, and delivers at least once (receivers deduplicate by id).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toCef, toSyslog, type ExportedRecord } from '../../lib/audit/export-format.ts';
import { readVerifiedLog } from '../../lib/audit/verified-log.ts';
import { deliverToWebhook, exportCursorKey } from '../../lib/audit/webhook-sink.ts';
import { StrataError } from '../../lib/errors.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore, PutOptions } from '../../lib/store/store.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let repo: string;
const strata = (args: string[]) => runCli(['--store', `file:${repo}`, ...args]);

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-export-'));
  repo = path.join(root, 'repo');
  for (let i = 0; i < 2; i++) {
    const wf = path.join(root, `export/ns/w${i}`);
    mkdirSync(path.join(wf, 'logs/n1'), { recursive: true });
    writeFileSync(
      path.join(wf, 'workflow.yaml'),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w${i}, namespace: ns, uid: u-${i}}\n` +
        `status:\n  phase: Succeeded\n  nodes:\n    n1: {id: n1, name: w${i}.a, type: Pod, phase: Succeeded}\n`,
    );
    writeFileSync(path.join(wf, 'logs/n1/main.log'), `workflow ${i}\n`.repeat(30));
  }
  expect((await strata(['archive', '--from', path.join(root, 'export')])).code).toBe(0);
  const hold = await strata(['hold', 'set', 'u-0', '--reason', 'case 7 | a=b', '--id', 'h1', '--actor', 'legal']);
  expect(hold.code, hold.err).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function sealedRecords(): Promise<ExportedRecord[]> {
  const log = await readVerifiedLog(new FileSystemStore(repo));
  return log.entries.flatMap((e) =>
    'unreadable' in e.record ? [] : [{ id: log.leaves[e.index]!.toString('hex'), index: e.index, record: e.record }],
  );
}

describe('strata audit export', () => {
  test('JSON Lines: every sealed record once, in log order, with its id (leaf hash); --after resumes', async () => {
    const r = await strata(['audit', 'export']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; index: number; action: string });
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.map((l) => l.index)).toEqual(lines.map((_, i) => i));
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    expect(lines.every((l) => /^[0-9a-f]{64}$/.test(l.id))).toBe(true);
    expect(lines.map((l) => l.action)).toContain('hold-set');
    const after = await strata(['audit', 'export', '--after', '1']);
    expect(after.out.trimEnd().split('\n')).toEqual(r.out.trimEnd().split('\n').slice(2));
  });

  test('RFC 5424 syslog and CEF lines, one a record', async () => {
    const syslog = (await strata(['audit', 'export', '--format', 'syslog', '--no-seal'])).out.trimEnd().split('\n');
    for (const line of syslog) {
      expect(line).toMatch(
        /^<8[45]>1 \d{4}-\d\d-\d\dT\S+Z - strata - [a-z-]+ \[strata@32473 id="[0-9a-f]{64}" index="\d+" /,
      );
    }
    const cef = (await strata(['audit', 'export', '--format', 'cef', '--no-seal'])).out.trimEnd().split('\n');
    expect(cef).toHaveLength(syslog.length);
    for (const line of cef)
      expect(line).toMatch(/^CEF:0\|Strata\|Strata\|1\|[a-z-]+\|[a-z-]+ [a-z]+\|[37]\|rt=\d+ externalId=[0-9a-f]{64} /);
    expect(cef.find((l) => l.includes('|hold-set|hold-set ok|'))).toContain('msg=case 7 | a\\=b');
  });

  test('escaping: syslog structured data and CEF header/extension special characters', () => {
    const e: ExportedRecord = {
      id: 'a'.repeat(64),
      index: 3,
      record: {
        at: '2026-11-30T00:00:00.000Z',
        action: 'emergency-delete',
        actor: 'ev"il]\\x',
        verified: false,
        subject: 'u|1',
        outcome: 'refused',
        reason: 'line1\nk=v',
      },
    };
    expect(toSyslog(e)).toContain('actor="ev\\"il\\]\\\\x"');
    expect(toSyslog(e).startsWith('<84>1 ')).toBe(true); // refused: warning
    const cef = toCef(e);
    expect(cef).toContain('|7|'); // refused: high severity
    expect(cef).toContain('cs1=u|1'); // a pipe needs no escape in the extension
    expect(cef).toContain('msg=line1\\nk\\=v');
  });
});

describe('the webhook sink', () => {
  let server: Server;
  let url: string;
  /** Requests to refuse before accepting again (503), and every event received. */
  const state = { refuse: 0, received: [] as Array<{ id: string; type: string; specversion: string }> };
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (state.refuse > 0) {
          state.refuse--;
          res.writeHead(503).end();
          return;
        }
        expect(req.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
        state.received.push(JSON.parse(body) as (typeof state.received)[number]);
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((go) => server.listen(0, '127.0.0.1', go));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  afterAll(() => new Promise<void>((go) => server.close(() => go())));

  test('retried with backoff through an outage, resumed after giving up, at least once: nothing lost', async () => {
    const store = new FileSystemStore(repo);
    const records = await sealedRecords();
    const delays: number[] = [];
    const sleep = async (ms: number) => void delays.push(ms);
    const opts = { url, source: 'strata/test', backoffMs: 100, maxAttempts: 4, sleep };

    // An outage longer than four attempts: the run gives up on the first record, delivering nothing.
    state.refuse = 6;
    await expect(deliverToWebhook(store, records, opts)).rejects.toBeInstanceOf(StrataError);
    expect(delays).toEqual([100, 200, 400]);
    expect(state.received).toEqual([]);

    // The rest of the outage is ridden out with backoff; then every record is delivered, in order.
    delays.length = 0;
    const run = await deliverToWebhook(store, records, opts);
    expect(delays).toEqual([100, 200]);
    expect(run).toMatchObject({ from: 0, delivered: records.length, retries: 2, next: records.at(-1)!.index + 1 });
    expect(state.received.map((e) => e.id)).toEqual(records.map((r) => r.id));
    expect(state.received[0]).toMatchObject({
      specversion: '1.0',
      type: `dev.strata.audit.${records[0]!.record.action}`,
    });

    // A re-run delivers nothing again; a cursor lost after a delivery means redelivery, deduplicated by id.
    expect((await deliverToWebhook(store, records, opts)).delivered).toBe(0);
    const lossy: ObjectStore = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'put') {
          return async (key: string, body: Uint8Array, o?: PutOptions) => {
            if (key === exportCursorKey(url)) throw new Error('crash before the cursor was saved');
            return target.put(key, body, o);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await store.put(exportCursorKey(url), Buffer.from(JSON.stringify({ next: records.length - 1 })));
    await expect(deliverToWebhook(lossy, records, opts)).rejects.toThrow(/crash before the cursor/);
    expect((await deliverToWebhook(store, records, opts)).delivered).toBe(1);
    const ids = state.received.map((e) => e.id);
    expect(ids).toHaveLength(records.length + 2); // the last record arrived three times in all
    expect([...new Set(ids)]).toEqual(records.map((r) => r.id)); // deduplicated: each exactly once
  });
});
