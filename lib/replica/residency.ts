// Data residency: where the workflows of each policy destination (a rule's `destination`, e.g. eu-archive) may be
// kept. A replica that is not among a destination's stores (URL pattern) and regions never receives its
// workflows; a workflow whose destination has no entry, or whose policy cannot decide, goes nowhere (fail closed).
// Directories are matched by their real path, and are in a region only where the file's `places` say so.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { Manifest } from '../archive/manifest.ts';
import { decideRetention, NO_HOLDS, type PolicySet } from '../policy/index.ts';
import { manifestInput } from '../policy/inputs.ts';
import { parseStoreUrl } from '../store/open.ts';
import { canonicalFileUrl } from './place.ts';

const destinationSchema = z
  .object({
    /** Store URL patterns (`*` matches any run of characters), e.g. `s3://strata-eu-*`. */
    stores: z.array(z.string().min(1)).min(1),
    /** S3 regions (patterns too), e.g. `eu-*`; absent: any region. */
    regions: z.array(z.string().min(1)).optional(),
  })
  .strict();

const placeSchema = z
  .object({
    /** Directory store URL patterns (`file:///mnt/eu-nfs/*`): an S3 bucket's region is its own, never set here. */
    stores: z.array(z.string().regex(/^file:/, 'places are for directory (file:) stores')).min(1),
    /** The region those directories are in, matched against destinations' `regions` like an S3 bucket's. */
    region: z.string().min(1),
  })
  .strict();

const residencySchema = z
  .object({
    apiVersion: z.literal('strata.dev/v1alpha1'),
    kind: z.literal('Residency'),
    destinations: z.record(z.string().min(1), destinationSchema),
    /** Where directory stores are (a directory has no region of its own); the first matching entry counts. */
    places: z.array(placeSchema).default([]),
  })
  .strict();

export type Residency = z.infer<typeof residencySchema>;

/** Where a replica is: its URL (a directory's canonical, replicaPlace) and its region. */
export interface ReplicaPlace {
  url: string;
  region?: string;
}

/**
 * Where the replica `to` is, as residency sees it. An S3 bucket: its URL and its region (`toRegion`, else Strata's
 * S3 region). A directory: its real path (symlinks and `..` resolved) as a `file:///` URL, and the region of the
 * first residency `places` entry matching that; none → no region, so a destination limited to regions refuses it.
 */
export function replicaPlace(
  to: string,
  opts: { toRegion?: string; s3Region?: string; residency?: Residency },
): ReplicaPlace {
  if (parseStoreUrl(to).kind === 's3') {
    const region = opts.toRegion ?? opts.s3Region;
    return { url: to, ...(region && { region }) };
  }
  if (opts.toRegion) {
    throw new ConfigError(
      `--to-region is for s3:// replicas; the region of a directory (${to}) comes from the residency file's places`,
    );
  }
  const url = canonicalFileUrl(to);
  const place = opts.residency?.places.find((p) => p.stores.some((pattern) => matches(canonicalFileUrl(pattern), url)));
  return { url, ...(place && { region: place.region }) };
}

export function parseResidency(text: string, file: string): Residency {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`residency: not YAML: ${(err as Error).message.split('\n')[0]}`, { file });
  }
  const parsed = residencySchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ConfigError(`residency: ${i.path.join('.') || '(root)'}: ${i.message}`, { file });
  }
  return parsed.data;
}

export function loadResidency(file: string): Residency {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read residency file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      file,
    });
  }
  return parseResidency(text, file);
}

function matches(pattern: string, value: string): boolean {
  const re = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`).test(value);
}

/**
 * Why a workflow with this destination may not be kept at `place`, or undefined when it may. No destination: no
 * residency rule applies. `undecided`: the policy could not decide for it (then it is kept where it is only).
 */
export function residencyRefusal(
  residency: Residency,
  destination: string | undefined,
  place: ReplicaPlace,
  undecided?: string,
): string | undefined {
  if (undecided) return `policy cannot decide where it may live (${undecided})`;
  if (destination === undefined) return undefined;
  const rule = residency.destinations[destination];
  if (!rule) return `destination "${destination}" has no residency entry: kept where it is`;
  const url = place.url.replace(/\/+$/, '');
  const patterns = rule.stores.map(canonicalFileUrl);
  if (!patterns.some((p) => matches(p.replace(/\/+$/, ''), url) || matches(p, place.url)))
    return `destination "${destination}" may live only in ${rule.stores.join(', ')}, not ${place.url}`;
  if (rule.regions && !(place.region && rule.regions.some((r) => matches(r, place.region!)))) {
    const unknown = place.url.startsWith('file:')
      ? `${place.url}, a directory no residency places entry puts in a region`
      : '(unknown)';
    return `destination "${destination}" may live only in regions ${rule.regions.join(', ')}, not ${place.region ?? unknown}`;
  }
  return undefined;
}

/** Why a workflow archived under `manifest` may not be kept at `place`, decided by policy as the tier run does. */
export function manifestRefusal(
  policySet: PolicySet,
  residency: Residency,
  place: ReplicaPlace,
  now: Date,
): (manifest: Manifest) => string | undefined {
  return (manifest) => {
    const { facts } = manifestInput(manifest, `manifest of ${manifest.workflow.namespace}/${manifest.workflow.name}`);
    const d = decideRetention(policySet, facts, now, NO_HOLDS);
    return residencyRefusal(
      residency,
      d.destination,
      place,
      d.failedClosed ? d.reasons.slice(1).join('; ') || 'failed closed' : undefined,
    );
  };
}
