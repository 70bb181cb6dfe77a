// The embedded mode's authenticator and authorizer: one YAML file of token hashes and per-namespace rules (ABAC).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';
import { ARCHIVE_VERBS, type ArchiveVerb, type Authenticator, type Authorizer, type Caller } from './access.ts';

const accessFileSchema = z
  .object({
    users: z
      .array(
        z
          .object({
            username: z.string().min(1),
            groups: z.array(z.string().min(1)).default([]),
            /** Hex SHA-256 of the token: the file never holds a usable secret. */
            tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the token'),
          })
          .strict(),
      )
      .default([]),
    rules: z
      .array(
        z
          .object({
            user: z.string().min(1).optional(),
            group: z.string().min(1).optional(),
            verbs: z.array(z.enum([...ARCHIVE_VERBS, '*'])).min(1),
            /** Namespaces, or ["*"] for all. */
            namespaces: z.array(z.string().min(1)).min(1),
          })
          .strict()
          .refine((r) => (r.user === undefined) !== (r.group === undefined), 'a rule names exactly one of user, group'),
      )
      .default([]),
  })
  .strict();

export type AccessFile = z.infer<typeof accessFileSchema>;

export function parseAccessFile(text: string, file: string): AccessFile {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`access file is not YAML: ${(err as Error).message}`, { file });
  }
  const parsed = accessFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`access file ${issue.path.join('.') || '(root)'}: ${issue.message}`, { file });
  }
  const seen = new Set<string>();
  for (const u of parsed.data.users) {
    if (seen.has(u.tokenSha256)) throw new ConfigError(`access file: two users share one token`, { file });
    seen.add(u.tokenSha256);
  }
  return parsed.data;
}

export function readAccessFile(file: string): AccessFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read access file: ${(err as Error).message}`, { file });
  }
  return parseAccessFile(text, file);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class TokenFileAccess implements Authenticator, Authorizer {
  constructor(private readonly access: AccessFile) {}

  async authenticate(token: string): Promise<Caller | undefined> {
    const presented = sha256(token);
    // Compare against every entry in constant time each, so timing says nothing about which hash is close.
    let found: AccessFile['users'][number] | undefined;
    for (const u of this.access.users) {
      if (timingSafeEqual(presented, Buffer.from(u.tokenSha256, 'hex'))) found = u;
    }
    return found && { username: found.username, groups: found.groups, via: 'token-file' };
  }

  async allows(caller: Caller, verb: ArchiveVerb, namespace: string): Promise<boolean> {
    return this.access.rules.some(
      (r) =>
        (r.user !== undefined ? r.user === caller.username : caller.groups.includes(r.group!)) &&
        (r.verbs.includes('*') || r.verbs.includes(verb)) &&
        (r.namespaces.includes('*') || r.namespaces.includes(namespace)),
    );
  }
}
