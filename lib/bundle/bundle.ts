// The workflow bundle: one finished workflow with everything it produced, as a source hands it to the archive engine.
import type { Readable } from 'node:stream';
import { StrataError } from '../errors.ts';

export type EntryKind = 'workflow' | 'log' | 'artifact' | 'resource';

/** One file of a bundle. `path` is relative, POSIX, and never escapes the bundle (sources must check). */
export interface BundleEntry {
  path: string;
  kind: EntryKind;
  /** Argo node id the log or artifact belongs to. */
  nodeId?: string;
  /** Container name, for logs (main, init, wait, sidecars). */
  container?: string;
  /** Artifact name as in the node's outputs/inputs. */
  artifactName?: string;
  /** Argo's artifact metadata (s3 key, archive settings, …) or the related resource's apiVersion/kind/name. */
  meta?: Record<string, unknown>;
  /** Size in bytes when the source knows it. */
  size?: number;
  /** Opens the content as a stream; may be called more than once. */
  open(): Promise<Readable>;
  /** The whole content at once, for sources that read a small file cheaper than they stream it. */
  read?(): Promise<Buffer>;
}

/**
 * Thrown by `BundleEntry.open` when the source has no content for the entry anywhere it looked (not a failed read).
 * `expected` says whether the content should exist: an expected one becomes a missing entry with this message (the
 * workflow is then incomplete); an unexpected one (e.g. a container of a pod that never started) is left out.
 */
export class AbsentEntryError extends StrataError {
  constructor(
    message: string,
    readonly expected: boolean,
  ) {
    super(message);
  }
}

/** Something the source could not read: recorded in the manifest; the workflow is then incomplete. */
export interface MissingEntry {
  path: string;
  kind: EntryKind;
  nodeId?: string;
  reason: string;
}

export interface WorkflowIdentity {
  uid: string;
  namespace: string;
  name: string;
}

export interface WorkflowBundle extends WorkflowIdentity {
  /** The Argo Workflow object as the cluster or export gave it (apiVersion, kind, metadata, spec, status). */
  workflow: Record<string, unknown>;
  entries: BundleEntry[];
  missing: MissingEntry[];
  /** What the source had to assume (e.g. a uid derived because metadata.uid was missing); for logs and reports. */
  notes?: string[];
}

/** A problem with one workflow of a batch; the others go on. */
export interface SourceProblem {
  where: string;
  message: string;
}

export interface WorkflowSource {
  /** Describes the source for logs and manifests, e.g. `dir:/exports/2026-11` or `k8s:ns=agents`. */
  readonly description: string;
  /** Every workflow the source holds; unreadable ones are reported as problems, not thrown. */
  list(): AsyncIterable<WorkflowIdentity | SourceProblem>;
  load(id: WorkflowIdentity): Promise<WorkflowBundle>;
}

export function isSourceProblem(x: WorkflowIdentity | SourceProblem): x is SourceProblem {
  return 'message' in x && 'where' in x;
}
