// strata report deletions|custody|retention: built from the verified audit log alone, naming the tree head they
// were built from, every cited record with an inclusion proof; a copy of nothing but the log rebuilds them exactly.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openRepository } from '../../lib/archive/index.ts';
import { proofProblem } from '../../lib/audit/proof.ts';
import {
  buildCustodyReport,
  buildDeletionsReport,
  buildRetentionReport,
  type CustodyReport,
  type DeletionsReport,
  type RetentionReport,
} from '../../lib/audit/reports.ts';
import { createStoreAuditLog } from '../../lib/audit/store-audit.ts';
import { latestHead } from '../../lib/audit/store-log.ts';
import { readVerifiedLog } from '../../lib/audit/verified-log.ts';
import { emergencyDelete } from '../../lib/pipeline/emergency-delete.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { runCli } from '../support/run-cli.ts';

let root: string;
let repo: string;
const strata = (args: string[]) => runCli(['--store', `file:${repo}`, ...args]);
const FROM = '2000-01-01T00:00:00Z';
const TO = '2100-01-01T00:00:00Z';

function exportOf(dir: string, first: number, end: number): string {
  for (let i = first; i < end; i++) {
    const wf = path.join(dir, `ns/w${i}`);
    mkdirSync(path.join(wf, 'logs/n1'), { recursive: true });
    writeFileSync(
      path.join(wf, 'workflow.yaml'),
      `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w${i}, namespace: ns, uid: u-${i}}\n` +
        `status:\n  phase: Succeeded\n  nodes:\n    n1: {id: n1, name: w${i}.a, type: Pod, phase: Succeeded}\n`,
    );
    writeFileSync(path.join(wf, 'logs/n1/main.log'), `workflow ${i} ran\n`.repeat(40 + i));
  }
  return dir;
}

async function report<T>(args: string[]): Promise<T> {
  const r = await strata(['report', ...args, '-o', 'json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'strata-reports-'));
  repo = path.join(root, 'repo');
  // Two runs, so the workflow deleted below has a pack of its own (one shared with the held one would wait).
  for (const [first, end] of [
    [0, 2],
    [2, 3],
  ] as const) {
    const archived = await strata(['archive', '--from', exportOf(path.join(root, `export-${first}`), first, end)]);
    expect(archived.code, archived.err).toBe(0);
  }
  const held = await strata(['hold', 'set', 'u-0', '--reason', 'case 4', '--id', 'case-4', '--actor', 'legal']);
  expect(held.code, held.err).toBe(0);
  const store = new FileSystemStore(repo);
  const result = await emergencyDelete(
    { uid: 'u-2', reason: 'leaked token', approver: 'ciso', actor: 'oncall', breakGlass: false, dryRun: false },
    {
      repo: await openRepository(store),
      holds: { holds: [], extensions: [] },
      audit: createStoreAuditLog(store),
      now: new Date(),
      settleMs: 0,
    },
  );
  expect(result.refused).toBe(false);
  expect(result.deletion?.outcome, JSON.stringify(result)).toBe('done');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('reports from the audit log', () => {
  test('deletions: what went, when, under which rule and approval, each with a proof that checks', async () => {
    const html = path.join(root, 'deletions.html');
    const r = await report<DeletionsReport>(['deletions', '--from', FROM, '--to', TO, '--html', html]);
    const head = (await latestHead(new FileSystemStore(repo)))!;
    expect(r.basis.head).toMatchObject({ seq: head.seq, size: head.size, root: head.root });
    const emergency = r.deletions.filter((d) => d.action === 'emergency-delete');
    expect(emergency.length).toBeGreaterThan(0);
    expect(emergency[0]).toMatchObject({ subject: 'u-2', outcome: 'ok', approver: 'ciso', rule: 'leaked token' });
    for (const d of r.deletions) expect(proofProblem(d.proof)).toBeUndefined();
    expect(r.unfinished).toEqual([]);

    const doc = readFileSync(html, 'utf8');
    expect(doc).toMatch(/^<!DOCTYPE html>/);
    expect(doc).toContain(head.root);
    expect(doc).toContain('leaked token');
    expect(doc).not.toMatch(/<script|<link|src=|https?:\/\//); // self-contained
  });

  test('custody: archive to deletion of one workflow, by namespace/name', async () => {
    const r = await report<CustodyReport>(['custody', 'ns/w2']);
    expect(r.uids).toEqual(['u-2']);
    expect(r.status).toBe('deleted');
    const steps = r.events.map((e) => `${e.action} ${e.outcome}`);
    expect(steps[0]).toBe('archive ok');
    expect(steps).toContain('emergency-delete started');
    expect(steps.at(-1)).toBe('emergency-delete ok');
    expect(steps.indexOf('emergency-delete started')).toBeLessThan(steps.indexOf('emergency-delete ok'));
    for (const e of r.events) expect(proofProblem(e.proof)).toBeUndefined();
  });

  test('retention: per class, holds in force, no violations', async () => {
    const r = await report<RetentionReport>(['retention']);
    const total = r.classes.reduce((n, c) => n + c.workflows, 0);
    expect(total).toBe(2);
    expect(r.classes.reduce((n, c) => n + c.deleted, 0)).toBe(1);
    expect(r.classes.reduce((n, c) => n + c.held, 0)).toBe(1);
    expect(r.holds).toEqual([expect.objectContaining({ workflow: 'u-0', hold: 'case-4', by: 'legal' })]);
    expect(r.violations).toEqual([]);
  });

  test('rebuilt from a copy of the log alone (no manifests, packs or holds), each report matches', async () => {
    const onlyLog = path.join(root, 'only-log');
    cpSync(path.join(repo, 'audit', 'log'), path.join(onlyLog, 'audit', 'log'), { recursive: true });
    const log = await readVerifiedLog(new FileSystemStore(onlyLog));
    const opts = ['--no-seal'];
    expect(buildDeletionsReport(log, new Date(FROM), new Date(TO))).toEqual(
      await report(['deletions', '--from', FROM, '--to', TO, ...opts]),
    );
    expect(buildCustodyReport(log, 'ns/w2')).toEqual(await report(['custody', 'ns/w2', ...opts]));
    expect(buildRetentionReport(log)).toEqual(await report(['retention', ...opts]));
  });

  test('a log that does not verify yields no report', async () => {
    const broken = path.join(root, 'broken');
    cpSync(repo, broken, { recursive: true });
    const head = (await latestHead(new FileSystemStore(broken)))!;
    const seg = path.join(broken, ...head.segment.key.split('/'));
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('leaked token', 'routine cleanup'));
    const r = await runCli(['--store', `file:${broken}`, 'report', 'deletions', '--from', FROM, '--to', TO]);
    expect(r.code).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/the audit log does not verify/);
  });
});
