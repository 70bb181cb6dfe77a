// Strata configuration: one schema, loaded from flags, STRATA_* env and a config file, in that precedence.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
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

export const configSchema = z
  .object({
    /** Where the archive repository lives: file:///path, file:relative, or s3://bucket/prefix. */
    store: z.string().min(1).default('file:.strata/repo'),
    s3: s3Schema.default(s3Schema.parse({})),
    /** SQLite catalog file (derived from the store; safe to delete). */
    catalog: z.string().min(1).default('.strata/catalog.db'),
    output: z.enum(OUTPUT_FORMATS).default('table'),
    debug: z.boolean().default(false),
  })
  .strict();

export type StrataConfig = z.infer<typeof configSchema>;
export type S3Config = z.infer<typeof s3Schema>;

/** Env var → config path. Values are strings; booleans and numbers are coerced. */
const ENV_KEYS: Record<string, string[]> = {
  STRATA_STORE: ['store'],
  STRATA_CATALOG: ['catalog'],
  STRATA_OUTPUT: ['output'],
  STRATA_DEBUG: ['debug'],
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
};

const BOOLEAN_PATHS = new Set(['debug', 's3.forcePathStyle']);
const NUMBER_PATHS = new Set(['s3.maxAttempts']);

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
  const fromFile = filePath ? readConfigFile(filePath) : {};
  const fromEnv = envToTree(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), stripUndefined(sources.flags ?? {}));
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.') || '(root)';
    throw new ConfigError(
      `invalid configuration at "${path}": ${issue.message}`,
      filePath ? { file: filePath } : undefined,
    );
  }
  return parsed.data;
}

function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      file: path,
    });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new ConfigError(first.message.split('\n')[0]!, { file: path, line: pos?.line, column: pos?.col });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError('config file must hold a mapping', { file: path });
  return value as Tree;
}

function envToTree(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const dotted = path.join('.');
    let value: unknown = raw;
    if (BOOLEAN_PATHS.has(dotted)) value = parseBoolean(name, raw);
    else if (NUMBER_PATHS.has(dotted)) value = Number(raw);
    setPath(tree, path, value);
  }
  return tree;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`environment variable ${name}="${raw}" is not a boolean (use true or false)`);
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
