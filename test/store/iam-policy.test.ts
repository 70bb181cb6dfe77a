// The S3 permissions per account (lib/store/iam-policy.ts), checked three ways that can each fail: the S3 calls the
// adapter makes for each store operation, the store operations each command makes when it runs (recorded through the
// real CLI), and the commands each account runs in the templates. docs/security.md shows the result.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  ACCOUNT_COMMANDS,
  ARTIFACT_REPOSITORY_OPERATIONS,
  COMMAND_OPERATIONS,
  OPERATION_ACTIONS,
  PROBE_ACTIONS,
  S3_CALL_ACTIONS,
  accountActions,
  iamPolicy,
  type StoreOperation,
} from '../../lib/store/iam-policy.ts';
import { FakeKubeApi } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';
import { loadFile, repoRoot } from '../templates/manifests.ts';
import { steps } from '../templates/template-steps.ts';

/** Store operations each command made, recorded by wrapping the store every command opens. */
const used = new Map<string, Set<string>>();
let current = '';
vi.mock('../../lib/store/open.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../lib/store/open.ts')>();
  return {
    ...orig,
    openStore: (...args: Parameters<typeof orig.openStore>) => {
      const store = orig.openStore(...args);
      return new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function' || typeof prop !== 'string' || !(prop in OPERATION_ACTIONS)) return value;
          return (...a: unknown[]) => {
            used.get(current)?.add(prop);
            return (value as (...x: unknown[]) => unknown).apply(target, a);
          };
        },
      });
    },
  };
});

describe('each store operation: the S3 calls the adapter makes (lib/store/s3.ts)', () => {
  const src = readFileSync(path.join(repoRoot, 'lib/store/s3.ts'), 'utf8');
  const from = src.indexOf('export class S3Store');
  const cls = src.slice(from, src.indexOf('\n}\n', from));
  const starts = [...cls.matchAll(/^ {2}(?:private )?(?:async )?\*?([a-zA-Z]+)\(/gm)].map((m) => ({
    name: m[1]!,
    at: m.index,
  }));
  const bodies = new Map(starts.map((s, i) => [s.name, cls.slice(s.at, starts[i + 1]?.at ?? cls.length)]));
  /** The S3 calls a method makes, through the class's own helpers it calls. */
  function calls(method: string, seen = new Set<string>()): Set<string> {
    if (seen.has(method)) return new Set();
    seen.add(method);
    const body = bodies.get(method)!;
    const out = new Set([...body.matchAll(/new ([A-Za-z0-9]+Command|Upload)\(/g)].map((m) => m[1]!));
    for (const m of body.matchAll(/this\.([a-zA-Z]+)\(/g))
      if (bodies.has(m[1]!)) for (const c of calls(m[1]!, seen)) out.add(c);
    return out;
  }

  test('every S3 call the adapter makes has its IAM actions listed', () => {
    const all = [...src.matchAll(/new ([A-Za-z0-9]+Command|Upload)\(/g)].map((m) => m[1]!);
    expect(all.filter((c) => !S3_CALL_ACTIONS[c])).toEqual([]);
  });

  test.each(Object.keys(OPERATION_ACTIONS) as StoreOperation[])('%s', (operation) => {
    expect(bodies.has(operation), `S3Store has no method ${operation}`).toBe(true);
    const needed = new Set([...calls(operation)].flatMap((c) => S3_CALL_ACTIONS[c]!));
    // The conditional-write probe (put's first write) is granted on its own prefix.
    const declared = new Set([...OPERATION_ACTIONS[operation], ...(operation === 'put' ? PROBE_ACTIONS : [])]);
    expect([...declared].sort()).toEqual([...needed].sort());
  });
});

describe('each account: the commands it runs in the templates', () => {
  test('ACCOUNT_COMMANDS is what the templates and the watch Deployment run', () => {
    const fromTemplates: Record<string, string[]> = {};
    for (const s of steps()) (fromTemplates[s.account] ??= []).push(s.command);
    const norm = (r: Record<string, readonly string[]>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...new Set(v)].sort()]));
    expect(norm(ACCOUNT_COMMANDS)).toEqual(norm(fromTemplates));
    for (const commands of Object.values(fromTemplates))
      for (const c of commands) expect(COMMAND_OPERATIONS[c], `strata ${c}`).toBeDefined();
  });

  test('the job split holds on S3 too: only tiering, gc, sealing and emergency deletion delete', () => {
    const deleters = Object.keys(ACCOUNT_COMMANDS).filter((a) => accountActions(a).object.includes('s3:DeleteObject'));
    expect(deleters.sort()).toEqual(['strata-archiver', 'strata-emergency', 'strata-tiering']); // archiver: audit seal
    expect(accountActions('strata-finalizer').object).not.toContain('s3:DeleteObject');
    expect(accountActions('strata-operator').object).not.toContain('s3:DeleteObject');
    expect(accountActions('strata-tiering').object).toEqual(expect.arrayContaining(['s3:RestoreObject']));
    expect(accountActions('strata-archiver').object).not.toContain('s3:RestoreObject');
  });

  test('in artifact repositories: the reads archiving makes, the deletes finalize makes (lib/sources, artifact-originals)', () => {
    const opsIn = (file: string) => [
      ...new Set(
        [...readFileSync(path.join(repoRoot, file), 'utf8').matchAll(/store\.([a-zA-Z]+)\(/g)].map((m) => m[1]!),
      ),
    ];
    const reads = ['lib/sources/argo-artifact-repository.ts', 'lib/sources/s3-artifacts.ts'].flatMap(opsIn);
    const cleanup = opsIn('lib/pipeline/artifact-originals.ts');
    expect(cleanup).toContain('delete');
    const byCommand: Record<string, string[]> = { archive: reads, finalize: cleanup, watch: [...reads, ...cleanup] };
    for (const [account, commands] of Object.entries(ACCOUNT_COMMANDS)) {
      const needed = commands.flatMap((c) => byCommand[c] ?? []);
      const granted = ARTIFACT_REPOSITORY_OPERATIONS[account] ?? [];
      expect(
        needed.filter((o) => !granted.includes(o as StoreOperation)),
        account,
      ).toEqual([]);
      if (!needed.length) expect(granted, account).toEqual([]);
    }
  });

  test('the policy document: objects under the prefix, listings held to it, the probe on its own prefix', () => {
    const doc = iamPolicy('strata-finalizer', { bucket: 'b', prefix: 'prod', kmsKeyArn: 'arn:aws:kms:k' });
    expect(doc).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Repository',
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
          Resource: 'arn:aws:s3:::b/prod/*',
        },
        {
          Sid: 'RepositoryListing',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: 'arn:aws:s3:::b',
          Condition: { StringLike: { 's3:prefix': ['prod/*'] } },
        },
        {
          Sid: 'ConditionalWriteProbe',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          Resource: 'arn:aws:s3:::b/prod/.strata-probe/*',
        },
        { Sid: 'SseKms', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: 'arn:aws:kms:k' },
      ],
    });
  });

  test('the prod overlay gives every Strata ServiceAccount its own IAM role (IRSA), and the table covers each', () => {
    const declared = loadFile('templates/base/rbac.yaml')
      .filter((d) => d.kind === 'ServiceAccount')
      .map((d) => d.metadata.name)
      .sort();
    const patched = loadFile('templates/overlays/prod/serviceaccount-patch.yaml');
    const roles = Object.fromEntries(
      patched.map((d) => [d.metadata.name, d.metadata.annotations?.['eks.amazonaws.com/role-arn']]),
    );
    expect(Object.keys(roles).sort()).toEqual(declared);
    expect(new Set(Object.values(roles)).size).toBe(declared.length);
    for (const [account, arn] of Object.entries(roles)) expect(arn).toMatch(new RegExp(`:role/${account}$`));
    expect(Object.keys(ACCOUNT_COMMANDS).sort()).toEqual(declared);
  });

  test('docs/security.md lists each account’s S3 actions as the table says', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs/security.md'), 'utf8');
    for (const account of Object.keys(ACCOUNT_COMMANDS)) {
      const { object, bucket } = accountActions(account);
      const row = `| \`${account}\` | ${[...object, ...bucket].map((a) => `\`${a}\``).join(' ')} |`;
      expect(doc, account).toContain(row);
    }
  });
});

describe('each command: the store operations it makes when it runs', () => {
  let root: string;
  const fake = new FakeKubeApi();
  let kube: string;
  beforeAll(async () => {
    kube = await fake.start();
    root = mkdtempSync(path.join(tmpdir(), 'strata-iam-'));
    mkdirSync(path.join(root, 'export/ns/w/logs/w-1'), { recursive: true });
    writeFileSync(
      path.join(root, 'export/ns/w/workflow.yaml'),
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, uid: u-1}\n' +
        'spec: {entrypoint: a}\nstatus:\n  phase: Succeeded\n  finishedAt: "2020-01-01T00:00:00Z"\n' +
        '  nodes:\n    w-1: {id: w-1, name: w.a, type: Pod, phase: Succeeded, templateName: a}\n',
    );
    writeFileSync(path.join(root, 'export/ns/w/logs/w-1/main.log'), 'hello\n');
    fake.put({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w', namespace: 'ns', uid: 'u-1' },
      status: { phase: 'Succeeded', finishedAt: '2020-01-01T00:00:00Z' },
    });
  });
  afterAll(async () => {
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function run(command: string, args: string[]): Promise<Record<string, unknown>> {
    current = command;
    if (!used.has(command)) used.set(command, new Set());
    const r = await runCli([
      '--store',
      `file:${path.join(root, 'repo')}`,
      '--catalog',
      path.join(root, 'catalog.db'),
      '-o',
      'json',
      ...args,
    ]);
    expect(r.code, `strata ${args.join(' ')}: ${r.err}`).toBe(0);
    return r.out.trim().startsWith('{') ? (JSON.parse(r.out) as Record<string, unknown>) : {};
  }

  test('archive, index, verify, restore, drill, hold, assess, finalize, tier, gc and audit seal stay within the table', async () => {
    const archived = await run('archive', ['archive', '--from', path.join(root, 'export')]);
    await run('index', ['index']);
    await run('verify', ['verify', '--read-data', '--sample=100']);
    await run('restore', ['restore', 'u-1', '--to', path.join(root, 'out')]);
    await run('drill', ['drill', '--workflows', '1', '--sandbox', root]);
    await run('hold', ['hold', 'set', 'u-1', '--reason', 'case 1', '--id', 'h-1']);
    await run('hold', ['hold', 'release', 'u-1', 'h-1', '--reason', 'closed']);
    await run('assess', ['assess', '--kube-server', kube, '--watermark', 'none']);
    await run('finalize', ['finalize', '--kube-server', kube, '--manifest', String(archived.manifests)]);
    await run('tier', ['tier']);
    await run('gc', ['gc', '--grace=0s']);
    await run('audit', ['audit', 'seal']);
    for (const [command, operations] of used) {
      const declared = COMMAND_OPERATIONS[command] ?? [];
      expect(
        [...operations].filter((o) => !declared.includes(o as StoreOperation)),
        `strata ${command}`,
      ).toEqual([]);
    }
    // The recording saw the commands at work (and would catch an operation missing from the table).
    expect([...used.get('archive')!]).toEqual(expect.arrayContaining(['put', 'list']));
    expect([...used.get('hold')!]).toContain('setLegalHold');
    expect([...used.get('audit')!]).toContain('delete');
  });
});
