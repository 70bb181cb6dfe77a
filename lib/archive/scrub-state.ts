// When each pack was last read whole by a scrub, kept in the store beside the packs (one object per timeline group).
import { z } from 'zod';
import { describeError, IntegrityError } from '../errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { packKey, PACKS_PREFIX, parseGroupKey, readObject } from './repository.ts';
import type { ScrubRead } from './scrub-plan.ts';

export const SCRUB_STATE_PREFIX = 'verify/scrub/';
const shardKey = (group: string) => `${SCRUB_STATE_PREFIX}${group}.json`;

const shardSchema = z
  .object({
    format: z.literal('strata-scrub-state'),
    version: z.literal(1),
    group: z.string(),
    /** Pack id → when it was last read whole and whether every hash checked. */
    packs: z.record(z.string(), z.object({ at: z.iso.datetime(), ok: z.boolean() }).strict()),
  })
  .strict();

export interface LoadedScrubState {
  /** Pack key → its last read. */
  reads: Map<string, ScrubRead>;
  /** State objects that did not read or parse: ignored, so their packs count as never read (read more, not less). */
  warnings: string[];
}

/** The newer read wins; of two at the same instant, a failure (read again rather than trust). */
export function newerRead(a: ScrubRead | undefined, b: ScrubRead): ScrubRead {
  if (!a || b.at > a.at) return b;
  if (b.at.getTime() === a.at.getTime() && !b.ok) return b;
  return a;
}

async function readShard(store: ObjectStore, key: string): Promise<z.infer<typeof shardSchema>> {
  const raw: unknown = JSON.parse((await readObject(store, key)).toString('utf8'));
  const parsed = shardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(`scrub state: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { key });
  }
  return parsed.data;
}

export async function loadScrubState(store: ObjectStore): Promise<LoadedScrubState> {
  const reads = new Map<string, ScrubRead>();
  const warnings: string[] = [];
  for await (const o of store.list(SCRUB_STATE_PREFIX)) {
    if (!o.key.endsWith('.json')) continue;
    try {
      const shard = await readShard(store, o.key);
      for (const [id, r] of Object.entries(shard.packs))
        reads.set(packKey(shard.group, id), { at: new Date(r.at), ok: r.ok });
    } catch (err) {
      warnings.push(`${o.key}: ${describeError(err)} (ignored: its packs count as never read)`);
    }
  }
  return { reads, warnings };
}

/**
 * Records reads: for each group touched, the state object is read again, merged (newer read wins, so a slower
 * writer never rolls back a newer one) and replaced whole (a put is atomic: a reader sees the old or the new
 * object). Entries for packs not in `live` (gone since: expired, gc'd) are dropped as the object is rewritten.
 */
export async function recordScrubReads(
  store: ObjectStore,
  reads: ReadonlyMap<string, ScrubRead>,
  live?: ReadonlySet<string>,
): Promise<void> {
  const byGroup = new Map<string, Map<string, ScrubRead>>();
  for (const [key, read] of reads) {
    const parsed = parseGroupKey(PACKS_PREFIX, key);
    if (!parsed) continue;
    let group = byGroup.get(parsed.group);
    if (!group) byGroup.set(parsed.group, (group = new Map()));
    group.set(parsed.packId, read);
  }
  for (const [group, fresh] of byGroup) {
    const key = shardKey(group);
    const merged = new Map<string, ScrubRead>();
    try {
      const shard = await readShard(store, key);
      for (const [id, r] of Object.entries(shard.packs)) merged.set(id, { at: new Date(r.at), ok: r.ok });
    } catch {
      // Absent, or unreadable (its packs then count as never read): rewritten from what this run knows.
    }
    for (const [id, r] of fresh) merged.set(id, newerRead(merged.get(id), r));
    const packs: Record<string, { at: string; ok: boolean }> = {};
    for (const [id, r] of [...merged].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (live && !live.has(packKey(group, id))) continue;
      packs[id] = { at: r.at.toISOString(), ok: r.ok };
    }
    const body: z.infer<typeof shardSchema> = { format: 'strata-scrub-state', version: 1, group, packs };
    await store.put(key, Buffer.from(JSON.stringify(body)), { contentType: 'application/json' });
  }
}
