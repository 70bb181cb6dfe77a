// Every workflow the sources accept can be filed and governed: its uid takes a hold and an extension, and its
// name and uid get workflow refs. Anything the hold store or the refs cannot take is refused at the source.
import { fc, test } from '@fast-check/vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { refKeys } from '../../lib/archive/workflow-refs.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { workflowFacts } from '../../lib/policy/index.ts';
import { validateWorkflow } from '../../lib/sources/argo-workflow.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';

/** Mostly name-like strings, with the characters that break keys and paths mixed in. */
const part = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,40}$/),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '/', ' ', '\\', ':', '%', 'é'), maxLength: 12 }),
  fc.constantFrom('..', '.', '-a', 'a..b', 'x'.repeat(129), 'n'.repeat(254)),
);

test.prop([part, part, part], { numRuns: 300 })(
  'an accepted identity can be held, extended and found by refs',
  async (namespace, name, uid) => {
    const workflow = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { namespace, name, uid } };
    let accepted;
    try {
      accepted = validateWorkflow(workflow, { file: 'wf.yaml' }).identity;
    } catch {
      return; // refused at the source: never archived
    }
    expect(refKeys(accepted, 'f'.repeat(64))).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'strata-identity-'));
    try {
      const holds = new HoldRepository(new FileSystemStore(dir));
      const created = new Date('2026-01-01T00:00:00Z');
      await holds.setHold({ workflowUid: accepted.uid, id: 'h-1', actor: 'a', reason: 'r', created });
      await holds.addExtension({
        workflowUid: accepted.uid,
        id: 'e-1',
        actor: 'a',
        reason: 'r',
        until: created,
        created,
      });
      expect((await holds.forWorkflow(accepted.uid)).holds).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.prop([fc.option(fc.constantFrom('ns', ''), { nil: undefined }), fc.option(fc.uuid(), { nil: undefined })])(
  'policy facts name a workflow exactly as the sources file it (namespace defaulted, uid derived alike)',
  (namespace, uid) => {
    const metadata = { name: 'w', creationTimestamp: '2026-01-01T00:00:00Z', namespace, uid };
    const workflow = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata };
    const filed = validateWorkflow(workflow, { file: 'wf.yaml' }).identity;
    const facts = workflowFacts(workflow);
    expect({ uid: facts.uid, namespace: facts.namespace, name: facts.name }).toEqual(filed);
  },
);
