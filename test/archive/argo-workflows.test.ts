// Round trip on the real Argo workflows in ../shared/argo/workflows: the workflow object plus synthesized logs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { archiveBundle, restoreWorkflow, type Repository } from '../../lib/archive/index.ts';
import { RESUBMIT_FILE } from '../../lib/archive/restorer.ts';
import { controllerProblems } from '../support/argo-controller.ts';
import { entryOf, logText, tempDir, tempRepository } from './fixtures.ts';
import type { WorkflowBundle } from '../../lib/bundle/bundle.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const workflowsDir = join(resolve(repoRoot, '../shared'), 'argo/workflows');
const present = existsSync(workflowsDir);
const files = present ? readdirSync(workflowsDir).filter((f) => f.endsWith('.yaml')) : [];

describe.skipIf(!present)(
  `real Argo workflows (${present ? workflowsDir : `skipped: ${workflowsDir} is absent`})`,
  () => {
    let repo: Repository;
    const cleanups: Array<() => void> = [];
    beforeAll(async () => {
      const r = await tempRepository();
      repo = r.repo;
      cleanups.push(r.cleanup);
    });
    afterAll(() => cleanups.forEach((c) => c()));

    test.each(files)('%s restores byte for byte', async (file) => {
      const bytes = readFileSync(join(workflowsDir, file));
      const wf = parse(bytes.toString('utf8')) as {
        metadata?: { name?: string; namespace?: string; uid?: string };
        status?: { nodes?: Record<string, unknown> };
      };
      const uid = wf.metadata?.uid ?? file;
      const nodeIds = Object.keys(wf.status?.nodes ?? {}).slice(0, 3);
      const logs = nodeIds.map((id, i) => ({
        path: `logs/${id}/main.log`,
        nodeId: id,
        container: 'main',
        data: logText(i + file.length, 20_000 + i * 5_000),
      }));
      const bundle: WorkflowBundle = {
        uid,
        namespace: wf.metadata?.namespace ?? 'default',
        name: wf.metadata?.name ?? file,
        workflow: wf as Record<string, unknown>,
        entries: [entryOf({ path: 'workflow.yaml', kind: 'workflow', data: bytes }), ...logs.map(entryOf)],
        missing: [],
      };
      const res = await archiveBundle(repo, bundle);
      const out = tempDir();
      cleanups.push(out.cleanup);
      await restoreWorkflow(repo, res.manifestId, out.path);
      expect(readFileSync(join(out.path, 'workflow.yaml')).equals(bytes)).toBe(true);
      for (const l of logs) expect(readFileSync(join(out.path, l.path)).equals(l.data)).toBe(true);
      const resubmit = parse(readFileSync(join(out.path, RESUBMIT_FILE), 'utf8')) as Record<
        string,
        Record<string, unknown>
      >;
      expect(resubmit.spec).toEqual((wf as Record<string, unknown>).spec);
      // The restored object is one the Argo controller runs, not one it skips (completed label, a name in use, …).
      expect(controllerProblems(resubmit)).toEqual([]);
    });
  },
);
