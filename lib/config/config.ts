// Strata configuration: one schema, loaded from flags, STRATA_* env and a config file, in that precedence.
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const s3Schema = z
  .object({
    endpoint: z.url().optional(),
    region: z.string().min(1).default('us-east-1'),
    forcePathStyle: z.boolean().default(false),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    sse: z.enum(['AES256', 'aws:kms']).optional(),
    kmsKeyId: z.string().min(1).optional(),
    maxAttempts: z.number().int().min(1).max(20).default(5),
    /** Create-only writes: 'auto' probes the server once; 'off' falls back to head-then-put. */
    conditionalWrites: z.enum(['auto', 'on', 'off']).default('auto'),
  })
  .strict();

const auditSchema = z
  .object({
    /** Ed25519 private key (PEM) that signs tree heads, e.g. a mounted Kubernetes Secret. */
    signingKey: z.string().min(1).optional(),
    /** Ed25519 public key (PEM) that checks them; derived from signingKey when unset. */
    publicKey: z.string().min(1).optional(),
    /**
     * How long each sealed segment and tree head is kept under COMPLIANCE retention (Object Lock) from when it is
     * sealed, e.g. 7y; unset, the log is not locked. Needs a store with Object Lock (docs/audit.md).
     */
    retainFor: z
      .string()
      .regex(/^(?:(?:\d+(?:y|mo|w|d|h|m|s))+)$/, 'a duration such as 7y, 400d')
      .optional(),
  })
  .strict();

const encryptionSchema = z
  .object({
    /** Seal every object client-side (format 3, docs/encryption.md). Off by default. */
    enabled: z.boolean().default(false),
    /** Where tenants' key-encryption keys live: a local key directory (embedded mode) or AWS KMS. */
    keys: z.enum(['local', 'kms']).default('local'),
    /** The local key directory (one subdirectory of KEK files per tenant). Keep it off the bucket and its backups. */
    keyDir: z.string().min(1).default('.strata/keys'),
    kms: z
      .object({
        endpoint: z.url().optional(),
        /** Default: s3.region. */
        region: z.string().min(1).optional(),
        /** Tenant T's KEK is the KMS key behind alias/<aliasPrefix>T. */
        aliasPrefix: z
          .string()
          .regex(/^[A-Za-z0-9/_-]*$/)
          .default('strata/'),
        /** Days before KMS deletes an erased tenant's key (it refuses to decrypt from the start). */
        deletionWindowDays: z.number().int().min(7).max(30).default(7),
      })
      .strict()
      .default({ aliasPrefix: 'strata/', deletionWindowDays: 7 }),
    /** Namespace → tenant, where a tenant spans namespaces; unlisted namespaces are their own tenant. */
    tenants: z.record(z.string(), z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/)).default({}),
    /** Read objects written before encryption was turned on (plaintext); off, they are refused. */
    acceptPlaintext: z.boolean().default(false),
  })
  .strict();

/**
 * An artifact repository Strata may read workflows' logs and artifacts from, with its own S3 credentials. Only these
 * are read: a workflow's status or its namespace's ConfigMap (both tenant-editable) may select one, never add one.
 */
const trustedArtifactRepositorySchema = z
  .object({
    /** Workflow namespaces allowed to use it; `*` for every namespace. */
    namespaces: z.array(z.string().min(1)).min(1).default(['*']),
    bucket: z.string().min(1),
    /** As Argo writes it (`minio.argo.svc:9000`) or a URL; absent for AWS S3. */
    endpoint: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    /** Plain HTTP to this endpoint (loopback endpoints are always allowed it). */
    insecure: z.boolean().default(false),
    /** Keys Strata may read must start with this; `{namespace}` is the workflow's namespace. */
    keyPrefix: z.string().optional(),
    /**
     * Finalize deletes the originals (output artifacts, archived logs) a verified archive holds copies of, when policy
     * deletes the workflow (default true; needs s3:DeleteObject there). false: they are left to Argo or to you.
     */
    deleteOriginals: z.boolean().optional(),
  })
  .strict();

export type TrustedArtifactRepository = z.infer<typeof trustedArtifactRepositorySchema>;

export const configSchema = z
  .object({
    /** Where the archive repository lives: file:///path, file:relative, or s3://bucket/prefix. */
    store: z.string().min(1).default('file:.strata/repo'),
    s3: s3Schema.default(s3Schema.parse({})),
    /**
     * The catalog (derived from the store; safe to delete and rebuild): a SQLite file, or a search engine as
     * elasticsearch+http(s)://host:port[/index-prefix][?replicas=N&shards=N] (docs/catalog-elasticsearch.md), or
     * PostgreSQL shared by several replicas and indexers: postgres://user@host/db[?schema=name] (docs/catalog.md).
     */
    catalog: z.string().min(1).default('.strata/catalog.db'),
    /** Further catalogs `strata index` keeps in step and expiry/erasure clean (e.g. a search engine beside PostgreSQL). */
    catalogAlso: z.array(z.string().min(1)).default([]),
    /**
     * Where a SQLite catalog's full text comes from: `archive` (compact, the default) keeps only which segments hold
     * each token and reads phrases and snippets back from the archive (an index ~0.03-0.07x the log text); `stored`
     * keeps a compressed copy of every log segment in the catalog (~0.5x; self-contained). A catalog found in the
     * other layout is rebuilt from the store when opened (docs/catalog.md). Other backends keep their text.
     */
    catalogText: z.enum(['stored', 'archive']).default('archive'),
    output: z.enum(OUTPUT_FORMATS).default('table'),
    debug: z.boolean().default(false),
    audit: auditSchema.default({}),
    encryption: encryptionSchema.default(encryptionSchema.parse({})),
    /** Frame encoder threads (0 = encode on the main thread); default one per usable CPU but one, at most 4. */
    encoderThreads: z.number().int().min(0).max(16).optional(),
    /** Who the caller is: `cluster` asks the API server, `local` takes --actor unverified, `auto` picks (docs/security). */
    identity: z.enum(['auto', 'cluster', 'local']).default('auto'),
    /**
     * Usernames (Strata's template ServiceAccounts, as the API server names them) whose `--requester` is taken as
     * the verified actor: an admission policy pins that parameter to the submitter (docs/security.md).
     */
    trustRequesterFrom: z.array(z.string().min(1)).default([]),
    /** Strata's own namespace on a cluster: where approvals live (and the admission policies are bound). */
    namespace: z.string().min(1).default('argo'),
    /**
     * The namespaces whose workflows Strata archives, where the install binds its accounts (templates/tenant):
     * sweeps and the watcher list and watch each of them. Empty: every namespace (components/cluster-wide).
     */
    tenantNamespaces: z.array(z.string().min(1)).default([]),
    /**
     * On a cluster, an extension keeping a workflow longer than this from now needs another person's approval
     * (the policy grammar, e.g. 1y; docs/security.md).
     */
    /**
     * The artifact repositories workflows may have Strata read (docs/security.md); none when unset: logs of
     * deleted pods and output artifacts are then recorded missing rather than read from an untrusted place.
     */
    artifactRepositories: z.array(trustedArtifactRepositorySchema).optional(),
    extendApprovalBeyond: z
      .string()
      .regex(/^(?:0|(?:\d+(?:y|mo|w|d|h|m|s))+)$/, 'a duration such as 1y, 180d')
      .default('1y'),
  })
  .strict();

export type StrataConfig = z.infer<typeof configSchema>;
export type S3Config = z.infer<typeof s3Schema>;
export type EncryptionConfig = z.infer<typeof encryptionSchema>;

/** Env var → config path. Values are strings; booleans and numbers are coerced. */
const ENV_KEYS: Record<string, string[]> = {
  STRATA_STORE: ['store'],
  STRATA_CATALOG: ['catalog'],
  STRATA_CATALOG_ALSO: ['catalogAlso'],
  STRATA_CATALOG_TEXT: ['catalogText'],
  STRATA_OUTPUT: ['output'],
  STRATA_DEBUG: ['debug'],
  STRATA_IDENTITY: ['identity'],
  STRATA_TRUST_REQUESTER_FROM: ['trustRequesterFrom'],
  STRATA_NAMESPACE: ['namespace'],
  STRATA_TENANT_NAMESPACES: ['tenantNamespaces'],
  STRATA_EXTEND_APPROVAL_BEYOND: ['extendApprovalBeyond'],
  STRATA_ARTIFACT_REPOSITORIES: ['artifactRepositories'],
  STRATA_S3_ENDPOINT: ['s3', 'endpoint'],
  STRATA_S3_REGION: ['s3', 'region'],
  STRATA_S3_FORCE_PATH_STYLE: ['s3', 'forcePathStyle'],
  STRATA_S3_ACCESS_KEY_ID: ['s3', 'accessKeyId'],
  STRATA_S3_SECRET_ACCESS_KEY: ['s3', 'secretAccessKey'],
  STRATA_S3_SESSION_TOKEN: ['s3', 'sessionToken'],
  STRATA_S3_SSE: ['s3', 'sse'],
  STRATA_S3_KMS_KEY_ID: ['s3', 'kmsKeyId'],
  STRATA_S3_MAX_ATTEMPTS: ['s3', 'maxAttempts'],
  STRATA_S3_CONDITIONAL_WRITES: ['s3', 'conditionalWrites'],
  STRATA_AUDIT_SIGNING_KEY: ['audit', 'signingKey'],
  STRATA_AUDIT_PUBLIC_KEY: ['audit', 'publicKey'],
  STRATA_AUDIT_RETAIN_FOR: ['audit', 'retainFor'],
  STRATA_ENCODER_THREADS: ['encoderThreads'],
  STRATA_ENCRYPTION: ['encryption', 'enabled'],
  STRATA_ENCRYPTION_KEYS: ['encryption', 'keys'],
  STRATA_ENCRYPTION_KEY_DIR: ['encryption', 'keyDir'],
  STRATA_ENCRYPTION_ACCEPT_PLAINTEXT: ['encryption', 'acceptPlaintext'],
  STRATA_KMS_ENDPOINT: ['encryption', 'kms', 'endpoint'],
  STRATA_KMS_REGION: ['encryption', 'kms', 'region'],
};

const BOOLEAN_PATHS = new Set(['debug', 's3.forcePathStyle', 'encryption.enabled', 'encryption.acceptPlaintext']);
const NUMBER_PATHS = new Set(['s3.maxAttempts', 'encoderThreads']);
/** Comma-separated lists. */
const LIST_PATHS = new Set(['trustRequesterFrom', 'catalogAlso', 'tenantNamespaces']);
/** Structured values, given in YAML or JSON (flow style fits an env var: `[{bucket: a, namespaces: [x]}]`). */
const STRUCTURED_PATHS = new Set(['artifactRepositories']);

type Tree = Record<string, unknown>;

export interface ConfigSources {
  /** Values from command-line flags (already nested: { store, s3: { endpoint } }). */
  flags?: Tree;
  env?: NodeJS.ProcessEnv;
  /** Path of a YAML/JSON config file (STRATA_CONFIG or --config). */
  file?: string;
}

export function loadConfig(sources: ConfigSources = {}): StrataConfig {
  const env = sources.env ?? {};
  const filePath = sources.file ?? env.STRATA_CONFIG;
  const file = filePath ? readConfigFile(filePath) : undefined;
  const fromEnv = envToTree(env);
  const flags = stripUndefined(sources.flags ?? {});
  const merged = deepMerge(deepMerge(file?.tree ?? {}, fromEnv), flags);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const at = unknown === undefined ? path : [...path, unknown];
    const envName = hasPath(fromEnv, at) ? envNameOf(at) : undefined;
    const message =
      unknown === undefined
        ? `invalid configuration at "${path.join('.') || '(root)'}"${envName ? ` (${envName})` : ''}: ${issue.message}`
        : `unknown configuration key "${at.join('.')}"${suggest(unknown, knownKeys(path))}`;
    throw new ConfigError(message, file ? locate(filePath!, file, at, [fromEnv, flags]) : undefined);
  }
  return parsed.data;
}

function envNameOf(path: string[]): string | undefined {
  return Object.entries(ENV_KEYS).find(([, p]) => p.join('.') === path.join('.'))?.[0];
}

/** Points at the offending key in the config file, unless an env var or flag supplied that value. */
function locate(file: string, parsed: ParsedFile, path: string[], overrides: Tree[]) {
  if (overrides.some((t) => hasPath(t, path))) return undefined;
  const node = parsed.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  let offset = node?.range?.[0];
  const parent = path.length > 0 ? parsed.doc.getIn(path.slice(0, -1), true) : parsed.doc.contents;
  if (isMap(parent)) {
    // Prefer the key's position ("endpont:") over its value's.
    const pair = parent.items.find((p) => String((p.key as { value?: unknown })?.value) === path[path.length - 1]);
    offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
  }
  if (offset === undefined) return { file };
  const pos = parsed.lines.linePos(offset);
  return { file, line: pos.line, column: pos.col };
}

function hasPath(tree: Tree, path: string[]): boolean {
  let node: unknown = tree;
  for (const part of path) {
    if (!isTree(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

function knownKeys(path: string[]): string[] {
  let shape: unknown = configSchema.shape;
  for (const part of path) {
    let field = (shape as Record<string, unknown>)[part] as { unwrap?: () => unknown; def?: unknown } | undefined;
    while (field && !('shape' in field) && typeof field.unwrap === 'function') field = field.unwrap() as typeof field;
    shape = (field as { shape?: unknown } | undefined)?.shape;
    if (!shape) return [];
  }
  return Object.keys(shape as object);
}

function suggest(word: string, candidates: string[]): string {
  const best = candidates
    .map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? ` (did you mean "${best.c}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

interface ParsedFile {
  tree: Tree;
  doc: Document;
  lines: LineCounter;
}

function readConfigFile(path: string): ParsedFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      file: path,
    });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`invalid YAML: ${message}`, { file: path, line: pos?.line, column: pos?.col });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { tree: {}, doc, lines };
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError('config file must hold a mapping', { file: path });
  return { tree: value as Tree, doc, lines };
}

function envToTree(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const dotted = path.join('.');
    let value: unknown = raw;
    if (BOOLEAN_PATHS.has(dotted)) value = parseBoolean(name, raw);
    else if (NUMBER_PATHS.has(dotted)) value = parseNumber(name, raw);
    else if (STRUCTURED_PATHS.has(dotted)) value = parseStructured(name, raw);
    else if (LIST_PATHS.has(dotted))
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    setPath(tree, path, value);
  }
  return tree;
}

function parseStructured(name: string, raw: string): unknown {
  const doc = parseDocument(raw);
  if (doc.errors.length) {
    throw new ConfigError(`environment variable ${name} is not YAML or JSON: ${doc.errors[0]!.message}`);
  }
  return doc.toJS() as unknown;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`environment variable ${name}="${raw}" is not a boolean (use true or false)`);
}

function parseNumber(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\s*-?\d+(\.\d+)?\s*$/.test(raw) || !Number.isFinite(n)) {
    throw new ConfigError(`environment variable ${name}="${raw}" is not a number`);
  }
  return n;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Tree;
  node[path[path.length - 1]!] = value;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isTree(v) && isTree(out[k]) ? deepMerge(out[k] as Tree, v) : v;
  return out;
}

function stripUndefined(tree: Tree): Tree {
  const out: Tree = {};
  for (const [k, v] of Object.entries(tree)) {
    if (v === undefined) continue;
    out[k] = isTree(v) ? stripUndefined(v) : v;
  }
  return out;
}
