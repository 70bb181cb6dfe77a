// A running server follows its policy and pricing files: a valid change is explained from then on, an invalid one is
// refused (the last good version keeps serving) and reported on /readyz and /metrics. A mounted ConfigMap's update
// (a new `..<timestamp>` directory and the `..data` symlink swapped by rename) is followed like a plain edit.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import type { PolicySet } from '../../lib/policy/index.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import {
  followSources,
  LiveConfig,
  policyReader,
  readPrices,
  type ReloadOutcome,
} from '../../server/service/live-config.ts';
import type { PriceTable } from '../../server/service/storage-usage.ts';
import { sha, startFixture, type Fixture } from './fixture.ts';

const ACCESS = `
users:
  - { username: alice, tokenSha256: ${sha('alice-token')} }
rules:
  - { user: alice, verbs: [get, list], namespaces: [agents] }
`;

const policy = (rule: string, match = 'labels[?"tier"].orValue("") == "gold"') => `
apiVersion: strata.dev/v1alpha1
kind: RetentionPolicy
metadata: { name: test }
spec:
  rules:
    - name: ${rule}
      priority: 10
      match: ${JSON.stringify(match)}
      retainFor: 5y
`;

/** Writes a file whole (a temporary dot-file renamed over it), so no reading ever sees half of it. */
function replaceFile(file: string, text: string): void {
  const tmp = join(file, '..', `.tmp-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Resolves at the first reload that ends in `want` (events that change nothing, or other outcomes, are passed over). */
function next(config: LiveConfig<unknown>, want: Exclude<ReloadOutcome, 'unchanged'>): Promise<void> {
  return new Promise((resolve) => {
    const stop = config.onReload((outcome) => {
      if (outcome !== want) return;
      stop();
      resolve();
    });
  });
}

let dir: string;
let plainDir: string;
let mountDir: string;
let pricingFile: string;
let plain: LiveConfig<PolicySet>;
let mounted: LiveConfig<PolicySet>;
let prices: LiveConfig<PriceTable>;
let f: Fixture;
let other: Fixture;
const logged: string[] = [];
const follows: { close(): void }[] = [];

/** Lays a directory out as the kubelet mounts a ConfigMap: keys are links through `..data` to a timestamped dir. */
function mountConfigMap(root: string, version: string, files: Record<string, string>): void {
  const data = join(root, `..${version}`);
  mkdirSync(data);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(data, name), text);
  const link = join(root, '..data_tmp');
  symlinkSync(`..${version}`, link);
  renameSync(link, join(root, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(root, name));
    } catch {
      // Already linked by an earlier version.
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-reload-'));
  plainDir = join(dir, 'plain');
  mountDir = join(dir, 'mounted');
  mkdirSync(plainDir);
  mkdirSync(mountDir);
  writeFileSync(join(plainDir, 'policy.yaml'), policy('gold'));
  mountConfigMap(mountDir, '2026_11_30_10_00_00.1', { 'policy.yaml': policy('gold-mounted') });
  pricingFile = join(dir, 'pricing.yaml');
  writeFileSync(pricingFile, stringify(DEFAULT_PRICING));
  const log = (line: string) => logged.push(line);
  const readPlain = policyReader([plainDir]);
  const readMounted = policyReader([mountDir]);
  plain = new LiveConfig('policy', plainDir, readPlain, readPlain(), log);
  mounted = new LiveConfig('policy', mountDir, readMounted, readMounted(), log);
  prices = new LiveConfig('pricing', pricingFile, () => readPrices(pricingFile), readPrices(pricingFile), log);
  follows.push(
    followSources(plain, [plainDir], { debounceMs: 20, log }),
    followSources(mounted, [mountDir], { debounceMs: 20, log }),
    followSources(prices, [pricingFile], { debounceMs: 20, log }),
  );
  f = await startFixture({ live: { policies: plain, prices } }, ACCESS);
  other = await startFixture({ live: { policies: mounted } }, ACCESS);
});

afterAll(async () => {
  for (const w of follows) w.close();
  await f?.close();
  await other?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function explained(fx: Fixture): Promise<{ winningRule?: string; policy: { valid: boolean } }> {
  const res = await fetch(`${fx.base}/api/v1/workflows/${fx.ids['wf-1']}/policy`, {
    headers: { authorization: 'Bearer alice-token' },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { winningRule?: string; policy: { valid: boolean } };
}

describe('policy reload', () => {
  test('a changed policy file is explained from then on; an invalid one keeps the last good one, reported', async () => {
    expect((await explained(f)).winningRule).toBe('gold');

    const reloaded = next(plain, 'reloaded');
    replaceFile(join(plainDir, 'policy.yaml'), policy('platinum'));
    await reloaded;
    expect(await explained(f)).toMatchObject({ winningRule: 'platinum', policy: { valid: true } });

    const rejected = next(plain, 'rejected');
    replaceFile(join(plainDir, 'policy.yaml'), policy('broken', 'labels.nosuchfunction(('));
    await rejected;
    // The last good policy is still in force, and nothing says otherwise to the caller.
    expect(await explained(f)).toMatchObject({ winningRule: 'platinum', policy: { valid: true } });
    const ready = (await (await fetch(`${f.base}/readyz`)).json()) as {
      status: string;
      config: { policies: { generation: number; rejected?: { problems: string[] } } };
    };
    expect(ready.status).toBe('ok');
    expect(ready.config.policies.generation).toBe(2);
    expect(ready.config.policies.rejected?.problems.join('\n')).toMatch(/policy\.yaml.*rule "broken"/);
    const metrics = await (await fetch(`${f.base}/metrics`)).text();
    expect(metrics).toContain('strata_server_config_rejected{config="policies"} 1');
    expect(metrics).toContain('strata_server_config_reloads_total{config="policies",result="rejected"} 1');
    expect(logged.join('\n')).toMatch(/policy: the new version .* is not valid; the one read at .* stays in force/);

    // Fixed: taken, and the refusal is no longer reported.
    const fixed = next(plain, 'reloaded');
    replaceFile(join(plainDir, 'policy.yaml'), policy('diamond'));
    await fixed;
    expect((await explained(f)).winningRule).toBe('diamond');
    const after = (await (await fetch(`${f.base}/readyz`)).json()) as { config: { policies: object } };
    expect(after.config.policies).not.toHaveProperty('rejected');
  });

  test("a mounted ConfigMap's ..data swap is followed", async () => {
    expect((await explained(other)).winningRule).toBe('gold-mounted');
    const reloaded = next(mounted, 'reloaded');
    mountConfigMap(mountDir, '2026_11_30_10_05_00.2', { 'policy.yaml': policy('silver-mounted') });
    await reloaded;
    expect((await explained(other)).winningRule).toBe('silver-mounted');
  });

  test('a pricing file that changes is used for costs; an invalid one keeps the prices in force', async () => {
    const storage = async () => {
      const res = await fetch(`${f.base}/api/v1/storage`, { headers: { authorization: 'Bearer alice-token' } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { pricing: { tiers: { hot: { perGBMonth: number } } } }).pricing.tiers.hot;
    };
    expect((await storage()).perGBMonth).toBe(DEFAULT_PRICING.tiers.hot.perGBMonth);
    const reloaded = next(prices, 'reloaded');
    const dearer = structuredClone(DEFAULT_PRICING);
    dearer.tiers.hot.perGBMonth = 1.5;
    replaceFile(pricingFile, stringify(dearer));
    await reloaded;
    expect((await storage()).perGBMonth).toBe(1.5);

    const rejected = next(prices, 'rejected');
    replaceFile(pricingFile, 'tiers: { hot: 1 }\n');
    await rejected;
    expect((await storage()).perGBMonth).toBe(1.5);
    expect(prices.status().rejected?.problems.join()).toMatch(/pricing/);
  });
});

describe('a source that cannot be read', () => {
  test('keeps the version in force and says why; once readable again with the same content, nothing changes', () => {
    const root = mkdtempSync(join(tmpdir(), 'strata-reload-gone-'));
    const policies = join(root, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, 'policy.yaml'), policy('kept'));
    const read = policyReader([policies]);
    const live = new LiveConfig('policy', policies, read, read());
    try {
      rmSync(policies, { recursive: true });
      expect(live.reload()).toBe('rejected');
      expect(live.current().rules.map((r) => r.name)).toEqual(['kept']);
      expect(live.status().rejected?.problems.join()).toMatch(/cannot read policy source/);
      mkdirSync(policies);
      writeFileSync(join(policies, 'policy.yaml'), policy('kept'));
      expect(live.reload()).toBe('unchanged');
      expect(live.status()).not.toHaveProperty('rejected');
      expect(live.status().generation).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
