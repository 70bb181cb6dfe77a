// Faults during a sweep: an archive pod killed by the node (Argo retries it), the controller and the API server restarted
// mid-sweep, S3 refusing connections for a while. Each time the sweep converges: every workflow archived exactly once
// and complete, labelled, and deleted only where policy says so, after its archive verified.
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  argo,
  e2eCluster,
  eventually,
  finishedWorkflow,
  kubectl,
  kubectlJson,
  run,
  strata,
  submitAndWait,
  type E2eCluster,
  type Workflow,
} from '../support/cluster.ts';
import { faultsLeft, injectContainerFault, restart, s3Gate } from '../support/faults.ts';
import { E2E_POLICY, EXECUTOR_RBAC, runTag, workflows } from '../support/workflows.ts';

const cluster = e2eCluster();

interface Pods {
  items: { metadata: { name: string }; status?: { phase?: string } }[];
}

interface CatalogRow {
  uid: string;
  name: string;
  incomplete: boolean;
}

/** Two finished workflows for one fault: one policy deletes once archived, one it keeps (labelled). */
async function finishedPair(c: E2eCluster, tag: string): Promise<{ deleted: Workflow; kept: Workflow }> {
  const all = workflows(tag);
  const [deleted, kept] = await Promise.all([
    submitAndWait(c, { yaml: all.dag! }),
    submitAndWait(c, { yaml: all.retries! }),
  ]);
  expect(deleted.status?.phase).toBe('Succeeded');
  expect(kept.status?.phase).toBe('Succeeded');
  return { deleted, kept };
}

/** Submits strata-archive for one tag, without waiting; answers the archive workflow's name. */
async function startArchive(c: E2eCluster, tag: string): Promise<string> {
  const out = await argo(c, [
    'submit',
    '-o',
    'name',
    '--from',
    'workflowtemplate/strata-archive',
    '-p',
    `namespaces=${c.namespace}`,
    '-p',
    `selector=strata-e2e-run=${tag}`,
  ]);
  return out.trim().split('/').pop()!;
}

/** strata-archive's pods that archive a batch: `<workflow>-archive-<hash>`. */
const ARCHIVE_POD = /-archive-\d+$/;
const ARCHIVE_POD_OF_ANY = `^strata-archive-[a-z0-9]+${ARCHIVE_POD.source}`;

async function runningArchivePod(c: E2eCluster, workflow: string): Promise<string> {
  return eventually(`a running archive pod of ${workflow}`, async () => {
    const selector = `workflows.argoproj.io/workflow=${workflow}`;
    const pods = await kubectlJson<Pods>(c, ['-n', c.namespace, 'get', 'pods', '-l', selector]);
    return pods.items.find((p) => ARCHIVE_POD.test(p.metadata.name) && p.status?.phase === 'Running')?.metadata.name;
  });
}

/** The invariant every fault must leave intact. */
async function expectConverged(
  c: E2eCluster,
  tag: string,
  archive: Workflow,
  pair: { deleted: Workflow; kept: Workflow },
) {
  expect(
    archive.status?.phase,
    JSON.stringify(Object.values(archive.status?.nodes ?? {}).map((n) => [n.displayName, n.phase, n.message])),
  ).toBe('Succeeded');
  const gone = await run(c, join(c.bin, 'kubectl'), ['-n', c.namespace, 'get', 'workflow', pair.deleted.metadata.name]);
  expect(gone.stderr).toMatch(/NotFound/);
  const kept = await kubectlJson<Workflow>(c, ['-n', c.namespace, 'get', 'workflow', pair.kept.metadata.name]);
  expect(kept.metadata.labels?.['strata.dev/archived']).toBeTruthy();

  const catalog = join(c.state, `catalog-${tag}.db`);
  expect((await strata(c, ['index', '--catalog', catalog])).code).toBe(0);
  const q = await strata(c, ['query', '--catalog', catalog, '--label', `strata-e2e-run=${tag}`]);
  expect(q.code, q.stderr).toBe(0);
  const rows = JSON.parse(q.stdout) as CatalogRow[];
  // Exactly one complete archive of each workflow, whatever was retried.
  expect(rows.map((r) => r.uid).sort()).toEqual([pair.deleted.metadata.uid, pair.kept.metadata.uid].sort());
  expect(rows.filter((r) => r.incomplete)).toEqual([]);
  const verify = await strata(c, ['verify']);
  expect(verify.code, verify.stderr).toBe(0);
}

describe.skipIf(!cluster)('faults during a sweep', () => {
  const c = cluster!;

  /** Each fault's two workflows, all run at once up front (the archives, one sweep at a time, come after). */
  const FAULTS = ['fault-kill', 'fault-controller', 'fault-apiserver', 'fault-s3'] as const;
  const pairs = new Map<string, Promise<{ tag: string; pair: { deleted: Workflow; kept: Workflow } }>>();
  const pairFor = (fault: (typeof FAULTS)[number]) => pairs.get(fault)!;

  beforeAll(async () => {
    await kubectl(c, ['apply', '-n', c.namespace, '-f', '-'], { input: EXECUTOR_RBAC + '\n---\n' + E2E_POLICY });
    for (const fault of FAULTS) {
      const tag = runTag(fault);
      const ready = finishedPair(c, tag).then((pair) => ({ tag, pair }));
      ready.catch(() => {}); // awaited by its own test, which reports the failure
      pairs.set(fault, ready);
    }
  });

  test('an archive pod killed by the node (OOMKilled) is retried by Argo', async () => {
    const { tag, pair } = await pairFor('fault-kill');
    // Killed as it starts: an archive of two small workflows can finish within any later deadline.
    injectContainerFault(c, { pod: ARCHIVE_POD_OF_ANY, times: 1, killAfterSeconds: 0 });
    const archive = await finishedWorkflow(c, await startArchive(c, tag));
    expect(faultsLeft(c)).toBe(0);
    const attempts = Object.values(archive.status?.nodes ?? {}).filter(
      (n) => n.type === 'Pod' && n.templateName === 'archive',
    );
    expect(attempts.map((n) => n.phase).sort()).toEqual(['Failed', 'Succeeded']);
    await expectConverged(c, tag, archive, pair);
  });

  test('the workflow controller restarted mid-sweep', async () => {
    const { tag, pair } = await pairFor('fault-controller');
    // The archive pod stays Running 10 s before its container starts: the controller goes away in that window.
    injectContainerFault(c, { pod: ARCHIVE_POD_OF_ANY, times: 1, holdSeconds: 10 });
    const name = await startArchive(c, tag);
    await runningArchivePod(c, name);
    await restart(c, 'workflow-controller', 5);
    await expectConverged(c, tag, await finishedWorkflow(c, name), pair);
  });

  test('the API server restarted mid-sweep', async () => {
    const { tag, pair } = await pairFor('fault-apiserver');
    injectContainerFault(c, { pod: ARCHIVE_POD_OF_ANY, times: 1, holdSeconds: 10 });
    const name = await startArchive(c, tag);
    await runningArchivePod(c, name);
    await restart(c, 'kube-apiserver', 3);
    await expectConverged(c, tag, await finishedWorkflow(c, name), pair);
  });

  test('S3 refusing connections for a while, mid-archive', async () => {
    const { tag, pair } = await pairFor('fault-s3');
    injectContainerFault(c, { pod: ARCHIVE_POD_OF_ANY, times: 1, holdSeconds: 5 });
    const name = await startArchive(c, tag);
    await runningArchivePod(c, name);
    s3Gate(c, 'refuse');
    try {
      await new Promise((ok) => setTimeout(ok, 15_000));
    } finally {
      s3Gate(c, 'accept');
    }
    await expectConverged(c, tag, await finishedWorkflow(c, name), pair);
  });
});
