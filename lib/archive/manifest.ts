// Per-workflow manifests: the schema, canonical bytes, and the id (SHA-256 of those bytes) that commits an archive.
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { z } from 'zod';
import { IntegrityError } from '../errors.ts';
import { checkContentId } from '../store/sha256.ts';

const hexId = z.string().regex(/^[0-9a-f]{64}$/);
const kind = z.enum(['workflow', 'log', 'artifact', 'resource']);

const entrySchema = z
  .object({
    path: z.string().min(1),
    kind,
    nodeId: z.string().optional(),
    container: z.string().optional(),
    artifactName: z.string().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    size: z.number().int().nonnegative(),
    sha256: hexId,
    /** [index into `packs`, chunk id] in file order. */
    chunks: z.array(z.tuple([z.number().int().nonnegative(), hexId])),
  })
  .strict();

const missingSchema = z
  .object({ path: z.string().min(1), kind, nodeId: z.string().optional(), reason: z.string() })
  .strict();

export const manifestSchema = z
  .object({
    format: z.literal('strata-manifest'),
    version: z.literal(1),
    repository: z.string(),
    workflow: z
      .object({
        uid: z.string(),
        namespace: z.string(),
        name: z.string(),
        phase: z.string().optional(),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    /** Path of the entry holding the Workflow object. */
    workflowPath: z.string().min(1),
    group: z.string(),
    /** When the archived content came to be (the workflow's finish), not when this copy was written: keeps the id deterministic. */
    createdAt: z.string().optional(),
    incomplete: z.boolean(),
    missing: z.array(missingSchema),
    /** Pack ids (in `group`) that entries' chunks point into. */
    packs: z.array(hexId),
    entries: z.array(entrySchema),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestEntry = z.infer<typeof entrySchema>;

/** JSON with object keys sorted and undefined dropped, so equal manifests have equal bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Manifests are stored as one zstd frame of their canonical JSON; JSON never starts with these bytes. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Hex chunk ids are half the bytes of a manifest and incompressible below 2:1; level 9 takes ~1 ms per manifest. */
const MANIFEST_LEVEL = 9;
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/** The manifest's id (SHA-256 of its canonical JSON), that JSON, and the object to store (the JSON, zstd-compressed). */
export function encodeManifest(m: Manifest): { id: string; json: Buffer; bytes: Buffer } {
  const json = Buffer.from(canonicalJson(m) + '\n');
  const id = createHash('sha256').update(json).digest('hex');
  return { id, json, bytes: compress(json, { compressionLevel: MANIFEST_LEVEL }) };
}

/** The canonical JSON of a stored manifest object: zstd-compressed (written since then) or plain (older ones). */
function manifestJson(stored: Buffer, where: string): Buffer {
  if (!stored.subarray(0, 4).equals(ZSTD_MAGIC)) return stored;
  try {
    const json = decompress(stored, { windowLogMax: 27 });
    if (json.length > MAX_MANIFEST_BYTES) throw new Error(`over ${MAX_MANIFEST_BYTES} bytes`);
    return json;
  } catch (err) {
    throw new IntegrityError(`manifest does not decompress: ${(err as Error).message}`, { key: where });
  }
}

/** Checks the bytes against the id they are stored under, then the schema and internal references. */
export function decodeManifest(id: string, stored: Buffer, where: string): Manifest {
  const bytes = manifestJson(stored, where);
  checkContentId(bytes, id, 'manifest', { key: where });
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError('manifest is not JSON', { key: where });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(`manifest ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { key: where });
  }
  const m = parsed.data;
  for (const e of m.entries) {
    for (const [p] of e.chunks) {
      if (p >= m.packs.length)
        throw new IntegrityError(`entry ${e.path} points at pack #${p} of ${m.packs.length}`, { key: where });
    }
  }
  return m;
}
