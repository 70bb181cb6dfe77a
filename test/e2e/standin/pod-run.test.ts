// The stand-in's node mechanics that need no cluster: path mapping, the mount script, artifact packing, statuses.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { packArtifact, unpackArtifact } from '../../../hack/e2e/standin/artifacts.ts';
import { strataWrapper } from '../../../hack/e2e/standin/main.ts';
import { hostPathOf, mountScript, readTerminationMessage, shellQuote } from '../../../hack/e2e/standin/pod-run.ts';
import { finishedStatus, refusedStatus } from '../../../hack/e2e/standin/pod-status.ts';
import type { Pod } from '../../../hack/e2e/standin/kube-types.ts';

// Outside /tmp: each pod gets a /tmp of its own, which hides the host's.
const scratchRoot = resolve(import.meta.dirname, '../../../.cache/test');
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(join(scratchRoot, 'standin-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hostPathOf', () => {
  const mounts = [
    { host: '/pods/u/tmp', container: '/tmp', readOnly: false },
    { host: '/pods/u/out', container: '/tmp/outputs', readOnly: false },
    { host: '/claims/catalog', container: '/var/lib/strata', readOnly: false },
  ];

  test('takes the longest mount that holds the path', () => {
    expect(hostPathOf('/tmp/outputs/selected', mounts)).toBe('/pods/u/out/selected');
    expect(hostPathOf('/tmp/said', mounts)).toBe('/pods/u/tmp/said');
    expect(hostPathOf('/var/lib/strata', mounts)).toBe('/claims/catalog');
  });

  test('a path on no volume, or one that only shares a prefix, maps to nothing', () => {
    expect(hostPathOf('/etc/passwd', mounts)).toBeUndefined();
    expect(hostPathOf('/tmpfoo/x', mounts)).toBeUndefined();
  });

  test('.. cannot climb out of a volume', () => {
    expect(hostPathOf('/tmp/../etc/passwd', mounts)).toBeUndefined();
  });
});

describe('mountScript', () => {
  const mounts = [
    { host: '/claims/c', container: '/var/lib/strata', readOnly: false },
    { host: "/pods/it's", container: '/tmp', readOnly: false },
    { host: '/pods/sa', container: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
  ];
  const script = mountScript(
    { runAs: { uid: 10001, gid: 10001, fsGroup: 10001 }, readOnlyRoot: true, strataImage: true },
    mounts,
    '/pods/argo',
  );

  test('binds shorter mount paths first, quoted, read-only where asked, then drops to the pod user', () => {
    const lines = script.split('\n');
    const binds = lines.filter((l) => l.startsWith('mount --bind') && !l.endsWith(`'/run/strata-standin/argo'`));
    const staged = binds.filter((l) => / '\/run\/strata-standin\/\d+'$/.test(l));
    const intoPod = binds.filter((l) => !staged.includes(l));
    // Every source is staged before the first mount into the pod can hide it (a repository under /tmp).
    expect(lines.indexOf(staged.at(-1)!)).toBeLessThan(lines.indexOf(intoPod[0]!));
    expect(staged[0]).toBe(`mount --bind ${shellQuote("/pods/it's")} '/run/strata-standin/0'`);
    expect(intoPod[0]).toBe(`mount --bind '/run/strata-standin/0' '/tmp'`);
    expect(intoPod[1]).toContain("'/var/lib/strata'");
    expect(lines).toContain("mount -o remount,bind,ro '/var/run/secrets/kubernetes.io/serviceaccount'");
    expect(lines.indexOf('mount -o remount,bind,ro /')).toBeGreaterThan(lines.lastIndexOf(binds.at(-1)!));
    expect(lines).toContain("cd '/tmp'");
    expect(lines.at(-2)).toBe('exec setpriv --reuid=10001 --regid=10001 --groups=10001 -- "$@"');
  });

  test('quoting survives the shell', () => {
    const out = execFileSync('sh', ['-c', `printf %s ${shellQuote("a'b $HOME \\")}`], { encoding: 'utf8' });
    expect(out).toBe("a'b $HOME \\");
  });

  const root = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', 'true']).status === 0;
  test.skipIf(!root)('runs a command with the volume at its mount path, as the pod user, root read-only', () => {
    const vol = join(scratch, 'vol');
    mkdirSync(vol, { recursive: true });
    execFileSync('chown', ['10001:10001', vol]);
    const argo = join(scratch, 'argo');
    mkdirSync(argo, { recursive: true });
    const run = join(scratch, 'run.sh');
    writeFileSync(
      run,
      mountScript(
        { runAs: { uid: 10001, gid: 10001 }, readOnlyRoot: true, strataImage: true },
        [{ host: vol, container: '/tmp', readOnly: false }],
        argo,
      ),
    );
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        run,
        'sh',
        '-c',
        'id -u; echo hi > /tmp/x; touch /opt/nope 2>/dev/null || echo read-only',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['10001', 'read-only', '']);
    expect(readFileSync(join(vol, 'x'), 'utf8')).toBe('hi\n');
  });
});

describe('artifacts', () => {
  test('a directory packs as <name>.tgz and unpacks at the input path', async () => {
    const dir = join(scratch, 'report');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'line 1\n');
    const packed = await packArtifact(dir, { name: 'report', path: '/tmp/report' }, join(scratch, 'staging'));
    expect(packed.endsWith('/report.tgz')).toBe(true);
    const into = join(scratch, 'in');
    await unpackArtifact(packed, into);
    expect(readFileSync(join(into, 'a.txt'), 'utf8')).toBe('line 1\n');
  });

  test('a single file unpacks as that file', async () => {
    const file = join(scratch, 'single.txt');
    writeFileSync(file, 'one');
    const packed = await packArtifact(file, { name: 'single', path: '/tmp/single.txt' }, join(scratch, 'staging2'));
    const into = join(scratch, 'single-in.txt');
    await unpackArtifact(packed, into);
    expect(readFileSync(into, 'utf8')).toBe('one');
  });
});

describe('pod status', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'argo', uid: 'u' },
    spec: {
      initContainers: [{ name: 'init', image: 'argoexec' }],
      containers: [
        { name: 'wait', image: 'argoexec' },
        { name: 'main', image: 'busybox' },
      ],
    },
  } as Pod;
  const at = { startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' };

  test('a main exit code fails the pod, as main', () => {
    const s = finishedStatus(pod, {
      ...at,
      main: { exitCode: 3, reason: 'Error' },
      wait: { exitCode: 0, reason: 'Completed' },
    }) as {
      status: { phase: string; containerStatuses: { name: string; state: { terminated: { exitCode: number } } }[] };
    };
    expect(s.status.phase).toBe('Failed');
    expect(s.status.containerStatuses.find((c) => c.name === 'main')!.state.terminated.exitCode).toBe(3);
    expect(s.status.containerStatuses.find((c) => c.name === 'wait')!.state.terminated.exitCode).toBe(0);
  });

  test("the executor's error fails the pod as the wait container's message", () => {
    const s = finishedStatus(pod, {
      ...at,
      main: { exitCode: 0, reason: 'Completed' },
      wait: { exitCode: 1, reason: 'Error', message: 'open /mainctrfs/tmp/x: no such file or directory' },
    }) as {
      status: { phase: string; containerStatuses: { name: string; state: { terminated: { message?: string } } }[] };
    };
    expect(s.status.phase).toBe('Failed');
    expect(s.status.containerStatuses.find((c) => c.name === 'wait')!.state.terminated.message).toMatch(/mainctrfs/);
  });

  test('a refused pod fails with the reason as its message', () => {
    const s = refusedStatus(pod, 'stand-in cannot run pod argo/p: sidecars', at.startedAt) as {
      status: { phase: string; message: string };
    };
    expect(s.status).toMatchObject({ phase: 'Failed', message: 'stand-in cannot run pod argo/p: sidecars' });
  });
});

test("the stand-in's strata wrapper is the image's, pointed at the bundle", () => {
  const wrapper = strataWrapper('/bundle');
  expect(wrapper).toContain('exec node');
  expect(wrapper).toContain('/bundle/strata.mjs "$@"');
  expect(wrapper).not.toContain('/app/');
});

describe('termination message, as the kubelet reads it', () => {
  const log = join(scratch, 'main.log');
  writeFileSync(log, Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  const file = join(scratch, 'termination-log');
  const fallback = { termination: { path: '/dev/termination-log', fallbackToLogs: true } };

  test('the file the container wrote wins', () => {
    writeFileSync(file, 'finalize: 2 workflows refused');
    expect(readTerminationMessage(file, log, fallback, 1)).toBe('finalize: 2 workflows refused');
  });

  test('FallbackToLogsOnError: an empty file and a failure give the last 80 lines of the log', () => {
    writeFileSync(file, '');
    const message = readTerminationMessage(file, log, fallback, 1)!;
    expect(message.startsWith('line 20\n')).toBe(true);
    expect(message.endsWith('line 99\n')).toBe(true);
  });

  test('no fallback on success, nor with the File policy', () => {
    writeFileSync(file, '');
    expect(readTerminationMessage(file, log, fallback, 0)).toBeUndefined();
    expect(
      readTerminationMessage(file, log, { termination: { path: '/x', fallbackToLogs: false } }, 1),
    ).toBeUndefined();
  });
});
