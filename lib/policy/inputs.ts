// Workflows for explain/diff from files: Workflow YAML/JSON (documents or Lists), or archived manifests.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseObjectDocuments } from '../bundle/workflow-text.ts';
import { InputError } from '../errors.ts';
import { workflowFacts, type WorkflowFacts } from './facts.ts';

export interface WorkflowInput {
  file: string;
  facts: WorkflowFacts;
  /** Archived size when known (manifests), else the size of the workflow object itself as a floor. */
  sizeBytes: number;
}

function files(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('cannot read workflow input', { file: p });
    }
    if (st.isDirectory())
      out.push(
        ...files(
          readdirSync(p)
            .sort()
            .filter((e) => /\.(ya?ml|json)$/.test(e) || statSync(join(p, e)).isDirectory())
            .map((e) => join(p, e)),
        ),
      );
    else out.push(p);
  }
  return out;
}

function objectsIn(file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of parseObjectDocuments(readFileSync(file, 'utf8'), file)) {
    const v = doc as Record<string, unknown> | null;
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v.items)) out.push(...(v.items as Record<string, unknown>[]));
    else out.push(v);
  }
  return out;
}

/** Every object in the files (documents and List items), e.g. related resources for explain. */
export function readObjects(paths: readonly string[]): Record<string, unknown>[] {
  return files(paths).flatMap(objectsIn);
}

const SIZE_ANNOTATION = 'strata.dev/size-bytes';

/** Workflow objects (kind Workflow) from files and directories; other kinds are skipped. */
export function readWorkflowFiles(paths: readonly string[]): WorkflowInput[] {
  const out: WorkflowInput[] = [];
  for (const file of files(paths)) {
    for (const obj of objectsIn(file)) {
      if (obj.kind !== undefined && obj.kind !== 'Workflow') continue;
      const facts = workflowFacts(obj);
      const annotated = Number(facts.annotations[SIZE_ANNOTATION]);
      out.push({
        file,
        facts,
        sizeBytes: Number.isFinite(annotated) && annotated > 0 ? annotated : Buffer.byteLength(JSON.stringify(obj)),
      });
    }
  }
  return out;
}

interface ManifestShape {
  format?: string;
  workflow?: {
    uid?: string;
    namespace?: string;
    name?: string;
    phase?: string;
    startedAt?: string;
    finishedAt?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  entries?: { size?: number }[];
}

/** One archived manifest (strata-manifest) as a diff input: the workflow's recorded facts and the archived bytes. */
export function manifestInput(m: unknown, where: string): WorkflowInput {
  const shape = m as ManifestShape;
  if (shape?.format !== 'strata-manifest' || !shape.workflow)
    throw new InputError('not a strata manifest', { file: where });
  const w = shape.workflow;
  const size = (shape.entries ?? []).reduce((n, e) => n + (e.size ?? 0), 0);
  const obj = {
    kind: 'Workflow',
    metadata: {
      uid: w.uid,
      name: w.name,
      namespace: w.namespace,
      labels: w.labels ?? {},
      annotations: w.annotations ?? {},
    },
    status: { phase: w.phase, startedAt: w.startedAt, finishedAt: w.finishedAt },
  };
  return { file: where, facts: workflowFacts(obj, { archive: { sizeBytes: size } }), sizeBytes: size };
}

/** Archived manifests (strata-manifest JSON files). */
export function readManifestFiles(paths: readonly string[]): WorkflowInput[] {
  return files(paths).flatMap((file) => objectsIn(file).map((m) => manifestInput(m, file)));
}
