// The dashboard end to end: a real `strata serve` process over a real repository and catalog file; headless
// Chromium (Debian's /usr/bin/chromium through playwright-core, never a downloaded browser) logs in, filters, opens a
// workflow, reads and greps a log, starts a restore and watches it finish, reads the storage and verification pages,
// and follows the Argo UI's link. Screenshots go to coverage/dashboard/.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, initRepository } from '../../lib/archive/index.ts';
import { archiveManifestSource } from '../../lib/catalog/archive-source.ts';
import { indexCatalog } from '../../lib/catalog/rebuild.ts';
import { archiveSegmentReader } from '../../lib/catalog/segment-reader.ts';
import { openSqliteCatalog } from '../../lib/catalog/sqlite.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { parse } from 'yaml';
import { ARGO_LINKS_COMPONENT, argoLinkUrl, workflowLinks } from '../templates/argo-links.ts';
import { PACKS_PREFIX } from '../../lib/archive/repository.ts';
import { S3Store } from '../../lib/store/s3.ts';
import { storageClassesOf } from '../../lib/store/store.ts';
import { createBucket, s3PeerOrSkip, storeOn, type PeerInfo } from '../support/s3-fixtures.ts';
import { ACCESS, ARTIFACT, bundle, LOG } from './fixture.ts';

/** The S3 peer's settings as S3Store options (no prefix). */
const storeOptions = (peer: PeerInfo) => ({
  endpoint: peer.endpoint,
  region: peer.region,
  forcePathStyle: true,
  accessKeyId: peer.accessKeyId,
  secretAccessKey: peer.secretAccessKey,
  maxAttempts: 3,
  conditionalWrites: 'auto' as const,
});

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const screens = join(root, 'coverage', 'dashboard');

let dir: string;
let serve: ChildProcess;
let base: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-dashboard-'));
  const store = new FileSystemStore(join(dir, 'repo'));
  const repo = await initRepository(store);
  for (const b of [
    bundle(1, 'agents', 'Succeeded', { team: 'a' }, LOG),
    bundle(2, 'agents', 'Failed', { team: 'b' }, 'setup\nsegfault in worker 3\n'),
    bundle(4, 'finance', 'Succeeded', { team: 'a' }, 'ledger closed\n'),
  ])
    ids[b.name] = (await archiveBundle(repo, b)).manifestId;
  // The layout strata serve opens by default (compact): it finds the catalog as built.
  const { catalog } = openSqliteCatalog(join(dir, 'catalog.db'), {
    textFrom: archiveSegmentReader(await archiveManifestSource(store)),
  });
  await indexCatalog(catalog, await archiveManifestSource(store));
  await catalog.close();
  writeFileSync(join(dir, 'access.yaml'), ACCESS);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  serve = spawn(
    process.execPath,
    [
      '--max-semi-space-size=4',
      join(root, 'bin/strata.js'),
      'serve',
      '--store',
      `file:${join(dir, 'repo')}`,
      '--catalog',
      join(dir, 'catalog.db'),
      '--listen',
      '127.0.0.1:0',
      '--access-file',
      join(dir, 'access.yaml'),
      '--restore-dir',
      join(dir, 'restores'),
    ],
    { cwd: dir, env: { ...env, STRATA_ACTOR: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  base = await new Promise<string>((done, fail) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on ([\d.]+:\d+)/.exec(out);
      if (m) done(`http://${m[1]}`);
    };
    serve.stdout!.on('data', onData);
    serve.stderr!.on('data', onData);
    serve.once('exit', (code) => fail(new Error(`strata serve exited ${code}: ${out}`)));
  });
}, 60_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard as served by strata serve', () => {
  test('/ redirects to /ui/, files carry a strict CSP, the API behind it answers', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const index = await fetch(`${base}/ui/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('/ui/app.js');
    expect((await fetch(`${base}/ui/app.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${base}/ui/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/ui/nope.js`)).status).toBe(404);
    const list = await fetch(`${base}/api/v1/workflows`, { headers: { authorization: 'Bearer alice-token' } });
    expect(((await list.json()) as { items: Array<{ name: string }> }).items.map((w) => w.name)).toEqual([
      'wf-2',
      'wf-1',
    ]);
  });
});

/** `strata serve` with the given extra flags; resolves with its base URL once it listens. */
function startServe(extra: string[], scheme = 'http'): Promise<{ base: string; proc: ChildProcess }> {
  return spawnServe(
    [
      '--store',
      `file:${join(dir, 'repo')}`,
      '--catalog',
      join(dir, 'catalog.db'),
      '--access-file',
      join(dir, 'access.yaml'),
      ...extra,
    ],
    {},
    dir,
    scheme,
  );
}

/** `strata serve` with these flags and STRATA_ variables (and no others from this process), listening anywhere. */
function spawnServe(
  args: string[],
  strataEnv: Record<string, string>,
  cwd: string,
  scheme = 'http',
): Promise<{ base: string; proc: ChildProcess }> {
  const proc = spawn(
    process.execPath,
    ['--max-semi-space-size=4', join(root, 'bin/strata.js'), 'serve', '--listen', '127.0.0.1:0', ...args],
    { cwd, env: { ...cleanEnv(), ...strataEnv, STRATA_ACTOR: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((done, fail) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on ([\d.]+:\d+)/.exec(out);
      if (m) done({ base: `${scheme}://${m[1]}`, proc });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => fail(new Error(`strata serve exited ${code}: ${out}`)));
  });
}

let hasOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  hasOpenssl = false;
}

describe.skipIf(!hasOpenssl)('strata serve --tls-cert/--tls-key', () => {
  test('answers over HTTPS with the given certificate', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
      ],
      { stdio: 'ignore' },
    );
    const { base: tlsBase, proc } = await startServe(
      ['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--no-ui'],
      'https',
    );
    try {
      const ca = readFileSync(join(dir, 'tls.crt'));
      const body = await new Promise<string>((done, fail) => {
        const req = httpsRequest(`${tlsBase}/healthz`, { ca, checkServerIdentity: () => undefined }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => done(text));
        });
        req.on('error', fail);
        req.end();
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
      await expect(fetch(`${tlsBase.replace('https', 'http')}/healthz`)).rejects.toThrow();
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});

describe.skipIf(!hasChromium)('the dashboard in headless Chromium', () => {
  test('log in, filter, open a workflow, read and grep a log, restore, storage, verification, Argo link', async () => {
    const { chromium } = await import('playwright-core');
    mkdirSync(screens, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/ui/`);
      await page.fill('input[name=token]', 'alice-token');
      await page.click('form.login button');
      await page.waitForSelector('#workflows tbody tr');
      expect(await page.locator('#workflows tbody tr').count()).toBe(2); // finance is not alice's
      await page.screenshot({ path: join(screens, '1-list.png') });

      await page.fill('input[name=phase]', 'Failed');
      await page.click('form.filters button');
      // Locator waits run in Playwright's own world: the page's CSP (no eval) forbids waitForFunction's strings.
      await expect.poll(() => page.locator('#workflows tbody tr').count()).toBe(1);
      expect(await page.locator('#workflows tbody tr td a').textContent()).toBe('wf-2');

      await page.goto(`${base}/ui/#/workflow/${ids['wf-1']}`);
      await page.waitForSelector('#title');
      expect(await page.textContent('#title')).toBe('agents/wf-1');
      await page.click('li[data-node="wf-1-node"] button');
      await page.waitForSelector('#L42');
      expect(await page.textContent('#L42')).toContain('segfault in worker');
      await page.fill('#log-viewer input[name=grep]', 'segfault');
      await page.click('#log-viewer form button');
      await page.locator('#log', { hasText: /^42:/ }).waitFor();
      expect(await page.textContent('#log')).toBe('42:line 42 segfault in worker\n');
      await page.screenshot({ path: join(screens, '2-workflow-log.png') });

      // The workflow's tier timeline, policy and audit events (opening the page and its log were audited reads).
      await page.locator('#timeline li[data-kind=archived]').waitFor();
      expect(await page.textContent('#timeline')).toMatch(/Now: hot/);
      await page.locator('#policy ul').waitFor();
      expect(await page.textContent('#policy')).toMatch(/Schedule: .*delete/);
      await page.locator('#audit-events tr[data-action=read]').first().waitFor();
      expect(await page.locator('#audit-events tbody tr', { hasText: 'alice' }).count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(screens, '2b-workflow-timeline-audit.png'), fullPage: true });

      await page.click('#restore');
      await page.waitForSelector('#restore-done');
      expect(await page.textContent('#restore-done')).toMatch(/Restored and verified: \d+ files/);
      // A local store has no storage classes: nothing was cold.
      expect(await page.getAttribute('#restore-thaw', 'data-state')).toBe('not-needed');
      // Each restored file is a link that fetches it with the caller's token and saves it under its own name.
      const fileLink = page.locator('#restore-status li a').first();
      const restoredPath = (await fileLink.textContent()) ?? '';
      const [saved] = await Promise.all([page.waitForEvent('download'), fileLink.click()]);
      expect(saved.suggestedFilename()).toBe(restoredPath.split('/').pop());
      await page.screenshot({ path: join(screens, '3-restored.png') });

      // Storage and cost: alice's namespace only, stored bytes per tier and policy, and where prices come from.
      await page.click('#nav-storage');
      await page.waitForSelector('#storage-policies');
      expect(await page.textContent('#storage-summary')).toMatch(/^2 archived workflows in 1 namespaces/);
      expect(await page.locator('#storage-tiers tr[data-tier=hot] td').nth(3).textContent()).toMatch(/\d.* (B|KiB)/);
      expect(await page.locator('#storage-policies tbody tr').count()).toBe(1);
      expect(await page.textContent('#storage-prices')).toContain('policies/pricing.yaml');
      expect(await page.textContent('main')).not.toContain('finance');
      await page.screenshot({ path: join(screens, '4-storage.png'), fullPage: true });

      // Verification: a real scrub and a real drill write their records; the page shows them, and of the drill only
      // alice's workflow.
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, [join(root, 'bin/strata.js'), ...args, '--store', `file:${join(dir, 'repo')}`], {
          cwd: dir,
          env: { ...cleanEnv(), STRATA_ACTOR: 'test' },
          encoding: 'utf8',
        });
      expect(cli('verify', '--scrub', '--no-audit-log').status).toBe(0);
      expect(cli('drill', '--workflows', '3').status).toBe(0);
      await page.click('#nav-verify');
      await page.waitForSelector('#verify-runs');
      expect(await page.locator('#verify-runs tbody tr').count()).toBe(2);
      expect(await page.textContent('#last-scrub')).toMatch(/ok .* coverage/);
      expect(await page.textContent('#last-drill')).toContain('agents/wf-1');
      expect(await page.textContent('#last-drill')).toContain('1 more in namespaces you cannot see');
      expect(await page.textContent('#last-drill')).not.toContain('wf-4');
      expect(await page.textContent('#failing-none')).toContain('None');
      await page.screenshot({ path: join(screens, '5-verification.png'), fullPage: true });

      // The Argo UI's link: the URL Argo makes from the component's template opens this workflow's page.
      const [link] = workflowLinks(
        (
          parse(readFileSync(join(ARGO_LINKS_COMPONENT, 'links-patch.yaml'), 'utf8')) as {
            data: Record<string, string>;
          }
        ).data,
      );
      const argoUrl = argoLinkUrl(link!.url, {
        metadata: { namespace: 'agents', name: 'wf-1', uid: '00000000-0000-0000-0000-000000000001' },
      });
      await page.goto(argoUrl.replace('https://strata.example.com', base));
      await page.waitForSelector('#title');
      expect(await page.textContent('#title')).toBe('agents/wf-1');
      expect(page.url()).toContain(`#/workflow/${ids['wf-1']}`);
      // A workflow that is not archived says so, with the archived runs of its name.
      await page.goto(`${base}/ui/#/argo/agents/wf-2/00000000-0000-0000-0000-00000000ffff`);
      await page.waitForSelector('#argo-not-archived');
      expect(await page.textContent('main')).toContain('agents/wf-2');
      await page.screenshot({ path: join(screens, '6-argo-link-not-archived.png') });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});

const s3 = s3PeerOrSkip();

describe.skipIf(!hasChromium || !s3.peer)(
  'the restore dialog over an S3 archive: cold packs, the artifact bucket',
  () => {
    if (!s3.peer) console.warn(`skipping the S3 dashboard run: ${s3.skip}`);
    let cold: { base: string; proc: ChildProcess } | undefined;
    let artifacts: S3Store;
    let artifactBucket: string;
    let coldIds: Record<string, string>;
    let coldDir: string;

    beforeAll(async () => {
      const peer = s3.peer!;
      coldDir = mkdtempSync(join(tmpdir(), 'strata-dashboard-s3-'));
      const store = storeOn(peer, await createBucket(peer));
      artifactBucket = await createBucket(peer);
      artifacts = new S3Store({ ...storeOptions(peer), bucket: artifactBucket, prefix: '' });
      const repo = await initRepository(store);
      coldIds = {};
      // Archived with the key Argo's artifact repository recorded for the artifact (agents/wf-1/model.txt).
      const b = bundle(1, 'agents', 'Succeeded', { team: 'a' }, LOG, true);
      coldIds[b.name] = (await archiveBundle(repo, b)).manifestId;
      const { catalog } = openSqliteCatalog(join(coldDir, 'catalog.db'), {
        textFrom: archiveSegmentReader(await archiveManifestSource(store)),
      });
      await indexCatalog(catalog, await archiveManifestSource(store));
      await catalog.close();
      // Its packs go to GLACIER: a restore must thaw them first (the S3 peer thaws at once when asked).
      const classes = storageClassesOf(store)!;
      for await (const o of store.list(PACKS_PREFIX)) await classes.setStorageClass(o.key, 'GLACIER');
      writeFileSync(join(coldDir, 'access.yaml'), ACCESS);
      cold = await spawnServe(
        [
          '--store',
          store.url,
          '--catalog',
          join(coldDir, 'catalog.db'),
          '--access-file',
          join(coldDir, 'access.yaml'),
          '--restore-dir',
          join(coldDir, 'restores'),
        ],
        {
          STRATA_S3_ENDPOINT: peer.endpoint,
          STRATA_S3_REGION: peer.region,
          STRATA_S3_FORCE_PATH_STYLE: 'true',
          STRATA_S3_ACCESS_KEY_ID: peer.accessKeyId,
          STRATA_S3_SECRET_ACCESS_KEY: peer.secretAccessKey,
          // agents' artifact repository: the only place a restore into the bucket may write for that namespace.
          STRATA_ARTIFACT_REPOSITORIES: `[{bucket: ${artifactBucket}, namespaces: [agents], endpoint: "${peer.endpoint}", keyPrefix: "{namespace}/"}]`,
        },
        coldDir,
      );
    }, 60_000);

    afterAll(async () => {
      if (cold && cold.proc.exitCode === null) {
        const exited = new Promise((r) => cold!.proc.once('exit', r));
        cold.proc.kill('SIGTERM');
        await exited;
      }
      if (coldDir) rmSync(coldDir, { recursive: true, force: true });
    });

    test('the thaw of cold packs shows in the job; "back into the artifact bucket" puts the artifact back', async () => {
      const { chromium } = await import('playwright-core');
      mkdirSync(screens, { recursive: true });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${cold!.base}/ui/`);
        await page.fill('input[name=token]', 'alice-token');
        await page.click('form.login button');
        await page.waitForSelector('#workflows tbody tr');
        // The workflow's packs are cold: its page cannot be read, but it offers the restore that thaws them.
        await page.goto(`${cold!.base}/ui/#/workflow/${coldIds['wf-1']}`);
        await page.waitForSelector('#restore');
        expect(await page.textContent('main .error')).toMatch(/cold storage class .*start a restore job/);
        expect(await page.isDisabled('#restore-overwrite')).toBe(true);

        await page.click('#restore');
        await page.locator('#restore-done', { hasText: 'Restored and verified' }).waitFor();
        expect(await page.getAttribute('#restore-thaw', 'data-state')).toBe('ready');
        expect(await page.textContent('#restore-thaw')).toMatch(/^Thawed: \d+ cold packs? readable again$/);
        await page.screenshot({ path: join(screens, '7-restore-thawed.png'), fullPage: true });

        await page.selectOption('#restore-target', 'bucket');
        expect(await page.isDisabled('#restore-overwrite')).toBe(false);
        await page.screenshot({ path: join(screens, '8a-restore-dialog-bucket.png') });
        await page.click('#restore');
        await page.locator('#restore-done', { hasText: 'Restored into' }).waitFor();
        expect(await page.textContent('#restore-done')).toMatch(
          new RegExp(`^Restored into s3://${artifactBucket}/: 1 written, 0 already there, \\d+ without a recorded key`),
        );
        await page.screenshot({ path: join(screens, '8b-restored-into-bucket.png'), fullPage: true });
        expect(await text(await artifacts.get('agents/wf-1/model.txt'))).toBe(ARTIFACT);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 240_000);
  },
);

if (!hasChromium)
  console.warn(`dashboard browser test skipped: ${CHROMIUM} is absent (apt-get install chromium to run it)`);
