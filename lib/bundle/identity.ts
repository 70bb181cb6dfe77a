// The identity of a Workflow object (namespace, name, uid) and which identities Strata can file an archive under:
// each part becomes an object-store key segment (workflow refs, holds, extensions), so each must be safe as one.
import { createHash } from 'node:crypto';
import type { WorkflowIdentity } from './bundle.ts';

/** Longest of each part: a Kubernetes namespace (DNS label), object name (DNS subdomain), and what holds allow. */
const LIMITS = { namespace: 63, name: 253, uid: 128 } as const;

/** Kubernetes names and UUIDs fit: a letter or digit first, then letters, digits, `.`, `_`, `-`; never `..`. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type IdentityPart = keyof typeof LIMITS;

/** Why `value` cannot be this part of a workflow's identity, or undefined when it can. */
export function unsafeIdentityPart(part: IdentityPart, value: string): string | undefined {
  if (!SAFE.test(value) || value.includes('..')) {
    return `metadata.${part} ${JSON.stringify(value)} is not a safe ${part}: it must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (never "..")`;
  }
  if (value.length > LIMITS[part]) {
    return `metadata.${part} ${JSON.stringify(value.slice(0, 20))}… is ${value.length} characters; at most ${LIMITS[part]}`;
  }
  return undefined;
}

export interface IdentityOf {
  identity: WorkflowIdentity;
  /** What had to be assumed: the namespace defaulted, the uid derived. */
  notes: string[];
}

/**
 * The identity of a Workflow object, the same in every command (collect, archive, policy explain, holds): a
 * missing `metadata.namespace` is "default" (where Kubernetes would have put it), a missing `metadata.uid` is
 * derived from namespace/name/creationTimestamp, so it is stable across runs.
 */
export function workflowIdentity(metadata: Record<string, unknown>): IdentityOf {
  const notes: string[] = [];
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  let namespace = metadata.namespace;
  if (typeof namespace !== 'string' || namespace === '') {
    namespace = 'default';
    notes.push('metadata.namespace missing; assumed "default"');
  }
  let uid = metadata.uid;
  if (typeof uid !== 'string' || uid === '') {
    const created = typeof metadata.creationTimestamp === 'string' ? metadata.creationTimestamp : '';
    uid = deriveUid(namespace as string, name, created);
    notes.push(`metadata.uid missing; derived ${uid as string} from namespace/name/creationTimestamp`);
  }
  return { identity: { uid: uid as string, namespace: namespace as string, name }, notes };
}

/** A UUID-shaped id (version 5 layout) from SHA-256 of `namespace/name/creationTimestamp`. */
export function deriveUid(namespace: string, name: string, creationTimestamp: string): string {
  const h = createHash('sha256').update(`${namespace}/${name}/${creationTimestamp}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
