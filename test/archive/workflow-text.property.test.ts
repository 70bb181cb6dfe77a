// A workflow that archives must restore: the archive side (directory source), restore and policy read a Workflow
// object's text the same way. Duplicate keys are refused where they enter, naming the file and the key; aliases are
// allowed up to one limit on every side.
import { fc, test } from '@fast-check/vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test as example } from 'vitest';
import { stringify } from 'yaml';
import { archiveSource, restoreWorkflow } from '../../lib/archive/index.ts';
import { isSourceProblem, type SourceProblem, type WorkflowIdentity } from '../../lib/bundle/bundle.ts';
import { duplicateJsonKey, parseWorkflowDocument } from '../../lib/bundle/workflow-text.ts';
import { readWorkflowFiles } from '../../lib/policy-files/workflow-files.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';
import { tempRepository } from './fixtures.ts';

interface Doc {
  file: 'workflow.yaml' | 'workflow.json';
  text: string;
  duplicateKey?: string;
}

const HEADER = 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n';
const STATUS = 'status:\n  phase: Succeeded\n  finishedAt: "2026-01-01T00:00:00Z"\n';

/** YAML with `aliases` references to one anchor, free-form data, and perhaps a key given twice. */
function yamlDoc(aliases: number, data: unknown, duplicate: boolean): Doc {
  const metadata = `metadata:\n  name: w\n  namespace: ns\n  uid: u-w\n${duplicate ? '  name: again\n' : ''}`;
  const spec =
    'spec:\n  shared: &shared\n    image: busybox\n    args: [a, b]\n  templates:\n' +
    Array.from({ length: aliases }, () => '  - *shared\n').join('');
  const text = HEADER + metadata + spec + stringify({ data }) + STATUS;
  return { file: 'workflow.yaml', text, ...(duplicate ? { duplicateKey: 'name' } : {}) };
}

/** JSON as `argo get -o json` prints it, free-form data, and perhaps a key given twice. */
function jsonDoc(data: unknown, duplicate: boolean): Doc {
  const obj = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: 'w', namespace: 'ns', uid: 'u-w' },
    spec: { data },
    status: { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' },
  };
  let text = JSON.stringify(obj, null, 2);
  if (duplicate) text = text.replace('"status": {', '"status": {\n    "phase": "Running",');
  return { file: 'workflow.json', text, ...(duplicate ? { duplicateKey: 'phase' } : {}) };
}

const data = fc.jsonValue({ maxDepth: 3 });
const doc: fc.Arbitrary<Doc> = fc.oneof(
  fc.tuple(fc.nat({ max: 1200 }), data, fc.boolean()).map(([n, d, dup]) => yamlDoc(n, d, dup)),
  fc.tuple(data, fc.boolean()).map(([d, dup]) => jsonDoc(d, dup)),
);

async function listExport(dir: string) {
  const ids: WorkflowIdentity[] = [];
  const problems: SourceProblem[] = [];
  for await (const x of openDirectorySource(dir).list()) (isSourceProblem(x) ? problems : ids).push(x as never);
  return { ids, problems };
}

describe('Workflow object text', () => {
  test.prop([doc], { numRuns: 40 })(
    'what archive accepts restores, and restore and policy read it as archive did',
    async (d) => {
      const root = mkdtempSync(path.join(tmpdir(), 'strata-wftext-'));
      const repo = await tempRepository();
      try {
        const exportDir = path.join(root, 'export');
        mkdirSync(path.join(exportDir, 'ns/w'), { recursive: true });
        writeFileSync(path.join(exportDir, 'ns/w', d.file), d.text);
        const { ids, problems } = await listExport(exportDir);
        if (d.duplicateKey) {
          expect(ids).toEqual([]);
          expect(problems).toEqual([
            {
              where: expect.stringContaining(path.join('ns/w', d.file)),
              message: expect.stringContaining(`duplicate key "${d.duplicateKey}"`),
            },
          ]);
          return;
        }
        if (ids.length === 0) return; // refused (too many aliases): nothing archived, nothing to restore
        const archivedAs = (await openDirectorySource(exportDir).load(ids[0]!)).workflow;
        const report = await archiveSource(repo.repo, openDirectorySource(exportDir));
        expect(report.failed).toBe(0);
        const to = path.join(root, 'restored');
        const restored = await restoreWorkflow(repo.repo, report.results[0]!.manifestId!, to);
        expect(restored.resubmitPath).toBeDefined();
        const restoredFile = path.join(to, d.file);
        expect(parseWorkflowDocument(readFileSync(restoredFile, 'utf8'), restoredFile)).toEqual(archivedAs);
        expect(readWorkflowFiles([restoredFile])[0]!.facts.workflow).toEqual(archivedAs);
      } finally {
        repo.cleanup();
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});

describe('duplicate keys in JSON', () => {
  test.prop([fc.jsonValue(), fc.constantFrom(undefined, 2)])('JSON.stringify never has one', (value, indent) => {
    expect(duplicateJsonKey(JSON.stringify(value, null, indent))).toBeUndefined();
  });

  example.each([
    ['{"a":1,"a":2}', { key: 'a', offset: 7 }],
    ['{"a":1,"\\u0061":2}', { key: 'a', offset: 7 }],
    ['{"s":"\\"a\\":","a":1,"a":2}', { key: 'a', offset: 20 }],
    ['{"x":{"a":1},"y":{"a":2}}', undefined],
    ['[{"a":1},{"a":1}]', undefined],
    ['{"a":[1,{"b":1}],"b":{"a":[]},"a":0}', { key: 'a', offset: 30 }],
  ])('%s', (text, found) => {
    expect(duplicateJsonKey(text)).toEqual(found);
  });
});
