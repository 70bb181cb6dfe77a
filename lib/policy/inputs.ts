// Workflows as explain/diff inputs: a Workflow object or an archived manifest turned into facts and a size.
import { InputError } from '../errors.ts';
import { workflowFacts, type WorkflowFacts } from './facts.ts';

export interface WorkflowInput {
  file: string;
  facts: WorkflowFacts;
  /** Archived size when known (manifests), else the size of the workflow object itself as a floor. */
  sizeBytes: number;
}

const SIZE_ANNOTATION = 'strata.dev/size-bytes';

/** A Workflow object as an input; its size is the strata.dev/size-bytes annotation, else the object's own size. */
export function workflowInput(obj: Record<string, unknown>, file: string): WorkflowInput {
  const facts = workflowFacts(obj);
  const annotated = Number(facts.annotations[SIZE_ANNOTATION]);
  return {
    file,
    facts,
    sizeBytes: Number.isFinite(annotated) && annotated > 0 ? annotated : Buffer.byteLength(JSON.stringify(obj)),
  };
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
