// Identity from the cluster: the CLI asks the (fake) API server who it is and what it may do, never takes a flag's word.
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { archiveBundle } from '../../lib/archive/index.ts';
import { auditRecords as storedAuditRecords } from '../../lib/audit/store-log.ts';
import { KubeAuthority } from '../../lib/identity/kube.ts';
import { plainKubeConfig } from '../../lib/kube/client.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import { bundleOf, tempRepository } from '../archive/fixtures.ts';
import { FakeKubeApi, type FakeRule } from '../support/fake-kube-api.ts';
import { runCli } from '../support/run-cli.ts';

const STRATA = 'strata.dev';
const UID_A = '11111111-aaaa-4aaa-8aaa-000000000001';
const UID_B = '22222222-bbbb-4bbb-8bbb-000000000002';

function rule(user: string, verbs: string[], resources: string[], namespace?: string): FakeRule {
  return { subject: { user }, verbs, apiGroups: [STRATA], resources, namespace };
}

/** Every audit record the repository holds, through the audit log's own reader. */
async function auditRecords(root: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of storedAuditRecords(new FileSystemStore(root)))
    out.push(r as unknown as Record<string, unknown>);
  return out;
}

describe('identity from the cluster', () => {
  const fake = new FakeKubeApi();
  let repo: Awaited<ReturnType<typeof tempRepository>>;
  let store: string[];

  beforeAll(async () => {
    await fake.start();
    fake.defaultUser = undefined; // no token, no user: every call below names who makes it
    fake.addUser('t-alice', { username: 'alice@corp', groups: ['team-a'] });
    fake.addUser('t-legal', { username: 'legal@corp', groups: ['legal'] });
    fake.addUser('t-oncall', { username: 'oncall@corp' });
    fake.addUser('t-operator', { username: 'system:serviceaccount:argo:strata-operator' });
    fake.addUser('t-tenant-sa', { username: 'system:serviceaccount:team-a:default' });
    fake.grant(rule('alice@corp', ['create'], ['holds', 'restores'], 'team-a'));
    fake.grant(rule('legal@corp', ['create', 'delete', 'list'], ['holds']));
    fake.grant(rule('oncall@corp', ['create'], ['emergencydeletions'], 'team-a'));
    fake.grant({
      subject: { user: 'system:serviceaccount:argo:strata-operator' },
      verbs: ['create'],
      apiGroups: ['authorization.k8s.io'],
      resources: ['subjectaccessreviews'],
    });
    repo = await tempRepository();
    store = ['--store', `file:${repo.root}`, '-o', 'json'];
    const inNamespace = (uid: string, ns: string) => {
      const b = bundleOf(uid, [{ path: 'logs/main.log', data: Buffer.from(`log of ${uid}\n`) }]);
      return { ...b, namespace: ns, workflow: { ...b.workflow, metadata: { name: b.name, namespace: ns, uid } } };
    };
    await archiveBundle(repo.repo, inNamespace(UID_A, 'team-a'));
    await archiveBundle(repo.repo, inNamespace(UID_B, 'team-b'));
  });
  afterAll(async () => {
    await fake.stop();
    repo.cleanup();
  });
  afterEach(() => vi.unstubAllEnvs());

  /** Runs the CLI as the token's user against the fake API server. */
  async function as(token: string, args: string[], env: Record<string, string> = {}) {
    vi.stubEnv('STRATA_KUBE_SERVER', fake.url);
    vi.stubEnv('STRATA_KUBE_TOKEN', token);
    vi.stubEnv('STRATA_ACTOR', '');
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    return runCli([...args, ...store]);
  }

  const holds = () => new HoldRepository(new FileSystemStore(repo.root)).listHolds();

  test('the adapter asks SelfSubjectReview and SelfSubjectAccessReview as the token’s user', async () => {
    const authority = new KubeAuthority(plainKubeConfig(fake.url, 't-alice'));
    expect(await authority.whoAmI()).toEqual({
      username: 'alice@corp',
      groups: ['team-a'],
      verified: true,
      source: 'cluster',
    });
    expect((await authority.can({ verb: 'create', resource: 'holds', namespace: 'team-a' })).allowed).toBe(true);
    expect((await authority.can({ verb: 'create', resource: 'holds', namespace: 'team-b' })).allowed).toBe(false);
    expect((await authority.can({ verb: 'delete', resource: 'holds', namespace: 'team-a' })).allowed).toBe(false);
    await expect(new KubeAuthority(plainKubeConfig(fake.url, 'forged')).whoAmI()).rejects.toThrow(
      /HTTP 401|Unauthorized/,
    );
  });

  test('a hold is recorded as the verified user; --actor naming someone else is refused, $STRATA_ACTOR ignored', async () => {
    const forged = await as('t-alice', ['hold', 'set', UID_A, '--reason', 'case 1', '--actor', 'legal@corp']);
    expect(forged.code).toBe(2);
    expect(forged.err).toMatch(/--actor "legal@corp": the cluster says you are "alice@corp"/);
    expect(await holds()).toEqual([]);

    const envForged = await as('t-alice', ['hold', 'set', UID_A, '--reason', 'case 1', '--id', 'h-alice'], {
      STRATA_ACTOR: 'legal@corp',
    });
    expect(envForged.code).toBe(0);
    expect(envForged.err).toMatch(/ignoring STRATA_ACTOR="legal@corp"/);
    expect(JSON.parse(envForged.out)).toMatchObject({ actor: 'alice@corp', actorVerified: true });
    const audited = (await auditRecords(repo.root)).filter((r) => r.action === 'hold-set');
    expect(audited).toEqual([
      expect.objectContaining({ actor: 'alice@corp', verified: true, outcome: 'started' }),
      expect.objectContaining({ actor: 'alice@corp', verified: true, outcome: 'ok' }),
    ]);
  });

  test('hold set outside the caller’s namespace and hold release without the permission are refused (and audited)', async () => {
    const foreign = await as('t-alice', ['hold', 'set', UID_B, '--reason', 'not mine']);
    expect(foreign.code).toBe(4);
    expect(foreign.err).toMatch(/alice@corp may not create holds\.strata\.dev in namespace team-b/);

    const release = await as('t-alice', ['hold', 'release', UID_A, 'h-alice', '--reason', 'done']);
    expect(release.code).toBe(4);
    expect(release.err).toMatch(/alice@corp may not delete holds\.strata\.dev in namespace team-a/);
    expect((await holds()).find((h) => h.id === 'h-alice')?.released).toBeUndefined();
    expect(await auditRecords(repo.root)).toContainEqual(
      expect.objectContaining({ action: 'hold-release', actor: 'alice@corp', verified: true, outcome: 'refused' }),
    );

    const legal = await as('t-legal', ['hold', 'release', UID_A, 'h-alice', '--reason', 'case closed']);
    expect(legal.code).toBe(0);
    expect((await holds()).find((h) => h.id === 'h-alice')?.released).toMatchObject({
      actor: 'legal@corp',
      actorVerified: true,
    });
  });

  test('restore needs the permission in the workflow’s namespace, and the audit names the verified reader', async () => {
    const mine = await as('t-alice', ['restore', UID_A, '--path', 'logs/main.log']);
    expect(mine.code).toBe(0);
    expect(mine.out).toBe(`log of ${UID_A}\n`);
    expect(await auditRecords(repo.root)).toContainEqual(
      expect.objectContaining({ action: 'restore', actor: 'alice@corp', verified: true, outcome: 'ok' }),
    );

    // With Strata's S3 credentials, only into her workflow's own trusted repository and prefix (nothing opened here).
    const trusted = {
      STRATA_ARTIFACT_REPOSITORIES: '[{bucket: art-a, namespaces: [team-a], keyPrefix: "{namespace}/"}]',
    };
    const foreign = await as('t-alice', ['restore', UID_A, '--to-bucket', 's3://art-b/'], trusted);
    expect(foreign.code).toBe(4);
    expect(foreign.err).toMatch(/s3:\/\/art-b\/ is not a trusted artifact repository/);
    const otherPrefix = await as('t-alice', ['restore', UID_A, '--to-bucket', 's3://art-a/team-b'], trusted);
    expect(otherPrefix.code).toBe(4);
    expect(otherPrefix.err).toMatch(/outside namespace team-a's prefix team-a\//);

    const theirs = await as('t-alice', ['restore', UID_B, '--path', 'logs/main.log']);
    expect(theirs.code).toBe(4);
    expect(theirs.out).toBe('');
    expect(theirs.err).toMatch(/alice@corp may not create restores\.strata\.dev in namespace team-b/);
  });

  test('emergency-delete needs its permission, and break-glass its own', async () => {
    const base = ['emergency-delete', UID_A, '--reason', 'leaked token', '--no-cluster'];
    const stranger = await as('t-alice', [...base, '--dry-run']);
    expect(stranger.code).toBe(4);
    expect(stranger.err).toMatch(/alice@corp may not create emergencydeletions\.strata\.dev in namespace team-a/);

    const glass = await as('t-oncall', [...base, '--dry-run', '--break-glass']);
    expect(glass.code).toBe(4);
    expect(glass.err).toMatch(/may not create emergencydeletions\/breakglass\.strata\.dev in namespace team-a/);
    expect(await auditRecords(repo.root)).toContainEqual(
      expect.objectContaining({ action: 'emergency-delete', actor: 'oncall@corp', verified: true, outcome: 'refused' }),
    );

    const dry = await as('t-oncall', [...base, '--dry-run']);
    expect(dry.code).toBe(0);
    // A dry run deletes nothing, so it needs no approval: it says what to have approved (test/identity/approval.test.ts).
    expect(JSON.parse(dry.out)).toMatchObject({ refused: false, manifests: [expect.any(String)] });
    expect(dry.err).toMatch(/needs an approval: no approval of emergency-delete/);
  });

  test('--requester is the actor only from a trusted ServiceAccount, and permissions are asked for the requester', async () => {
    const trust = { STRATA_TRUST_REQUESTER_FROM: 'system:serviceaccount:argo:strata-operator' };
    const untrusted = await as(
      't-tenant-sa',
      ['restore', UID_A, '--path', 'logs/main.log', '--requester', 'alice@corp'],
      trust,
    );
    expect(untrusted.code).toBe(2);
    expect(untrusted.err).toMatch(/"system:serviceaccount:team-a:default" is not trusted to act for a submitter/);

    const forAlice = await as(
      't-operator',
      ['restore', UID_A, '--path', 'logs/main.log', '--requester', 'alice@corp'],
      trust,
    );
    expect(forAlice.code).toBe(0);
    expect(await auditRecords(repo.root)).toContainEqual(
      expect.objectContaining({
        action: 'restore',
        actor: 'alice@corp',
        verified: true,
        details: expect.objectContaining({ via: 'system:serviceaccount:argo:strata-operator' }),
      }),
    );
    const forAliceElsewhere = await as(
      't-operator',
      ['restore', UID_B, '--path', 'logs/main.log', '--requester', 'alice@corp'],
      trust,
    );
    expect(forAliceElsewhere.code).toBe(4);
    expect(forAliceElsewhere.err).toMatch(/alice@corp may not create restores\.strata\.dev in namespace team-b/);

    const empty = await as('t-operator', ['restore', UID_A, '--path', 'logs/main.log', '--requester', ''], trust);
    expect(empty.code).toBe(2);
  });

  test('local mode (no cluster) takes --actor and marks it unverified', async () => {
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    vi.stubEnv('STRATA_IDENTITY', '');
    const r = await runCli(['hold', 'set', UID_B, '--reason', 'local', '--actor', 'bob', '--id', 'h-bob', ...store]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ actor: 'bob', actorVerified: false });
    expect(await auditRecords(repo.root)).toContainEqual(
      expect.objectContaining({ action: 'hold-set', actor: 'bob', verified: false }),
    );
  });
});
