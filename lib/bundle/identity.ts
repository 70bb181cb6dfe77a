// The identity of a Workflow object (namespace, name, uid) and which identities Strata can file an archive under:
// each part becomes an object-store key segment (workflow refs, holds, extensions), so each must be safe as one.

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
