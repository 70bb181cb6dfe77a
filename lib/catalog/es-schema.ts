// The Elasticsearch catalog's schema version and rebuild state: one document in `<prefix>-meta`, changed only with
// optimistic concurrency (the node has no transactions), so that of several processes opening an older catalog at
// once exactly one deletes its indices, and none writes into them before that deletion is over.
import { errors, type Client } from '@elastic/elasticsearch';
import { whenStarted } from './es-indices.ts';

/** Bump on any change of mappings, settings or document shape: an older catalog is then rebuilt from the store. */
export const ES_CATALOG_SCHEMA_VERSION = 1;

const META_ID = 'catalog';
/** A reset claimed longer ago than this was abandoned (its process died): another opener takes it over. */
export const RESET_CLAIM_STALE_MS = 60_000;
const RESET_POLL_MS = 250;

/** ready: complete; resetting: one opener is deleting the old indices; rebuilding: a full pass has yet to finish. */
type MetaState = 'ready' | 'resetting' | 'rebuilding';
interface MetaDoc {
  version: number;
  state: MetaState;
  /** When the state was set (epoch ms). */
  at: number;
}

interface Found {
  doc: MetaDoc;
  seq: { if_seq_no: number; if_primary_term: number };
}

export interface SchemaState {
  /** The catalog was new or was emptied: everything must be (re)indexed. */
  fresh: boolean;
  /** A rebuild from the store has not completed (it may have been started by another process, or interrupted). */
  rebuilding: boolean;
}

export interface EnsureSchemaOptions {
  /** Empty the catalog and rebuild it (`strata index --rebuild`). */
  reset: boolean;
  replicas: number;
  /** Deletes every index of the catalog. */
  deleteIndices: () => Promise<void>;
  /** Whether the catalog has any index (one made before the schema was versioned counts as an older schema). */
  hasIndices: () => Promise<boolean>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const metaIndex = (prefix: string) => `${prefix}-meta`;

export async function ensureSchema(client: Client, prefix: string, o: EnsureSchemaOptions): Promise<SchemaState> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const index = metaIndex(prefix);
  await createMetaIndex(client, index, o.replicas);
  let reset = o.reset;
  for (;;) {
    const found = await readMeta(client, index);
    const current = found?.doc.version === ES_CATALOG_SCHEMA_VERSION ? found.doc : undefined;
    if (current?.state === 'resetting' && now() - current.at < RESET_CLAIM_STALE_MS) {
      // Another opener is deleting the old indices: anything written now would go with them.
      await sleep(RESET_POLL_MS);
      continue;
    }
    if (current && current.state !== 'resetting' && !reset)
      return { fresh: current.state === 'rebuilding', rebuilding: current.state === 'rebuilding' };
    if (!found && !reset && !(await o.hasIndices())) {
      // A new catalog: nothing to rebuild.
      if (await writeMeta(client, index, { version: ES_CATALOG_SCHEMA_VERSION, state: 'ready', at: now() }, found))
        return { fresh: true, rebuilding: false };
      continue;
    }
    // An older schema, a catalog from before versioning, a reset asked for, or an abandoned reset: claim the reset.
    const claim = { version: ES_CATALOG_SCHEMA_VERSION, state: 'resetting' as const, at: now() };
    const claimed = await writeMeta(client, index, claim, found);
    if (!claimed) {
      // Another opener claimed it first: its reset is the one asked for.
      reset = false;
      continue;
    }
    await o.deleteIndices();
    const rebuilding = { version: ES_CATALOG_SCHEMA_VERSION, state: 'rebuilding' as const, at: now() };
    if (await writeMeta(client, index, rebuilding, claimed)) return { fresh: true, rebuilding: true };
    // Taken over as abandoned while this one deleted: that opener's reset stands.
    reset = false;
  }
}

/** Records that a full pass over the store has completed, unless another reset began meanwhile. */
export async function markRebuilt(client: Client, prefix: string, now: () => number = Date.now): Promise<void> {
  const index = metaIndex(prefix);
  for (;;) {
    const found = await readMeta(client, index);
    if (found?.doc.version !== ES_CATALOG_SCHEMA_VERSION || found.doc.state !== 'rebuilding') return;
    if (await writeMeta(client, index, { version: ES_CATALOG_SCHEMA_VERSION, state: 'ready', at: now() }, found))
      return;
  }
}

async function createMetaIndex(client: Client, index: string, replicas: number): Promise<void> {
  try {
    await client.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: replicas },
      mappings: { dynamic: false },
    });
  } catch (err) {
    if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception'))
      throw err;
  }
}

async function readMeta(client: Client, index: string): Promise<Found | undefined> {
  try {
    const res = await whenStarted(() => client.get<MetaDoc>({ index, id: META_ID, realtime: true }));
    if (!res.found || !res._source) return undefined;
    return { doc: res._source, seq: { if_seq_no: res._seq_no!, if_primary_term: res._primary_term! } };
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
    throw err;
  }
}

/** Writes the document if it is still as `expected` saw it (absent: if it is still absent); the new state, or undefined. */
async function writeMeta(
  client: Client,
  index: string,
  doc: MetaDoc,
  expected: Found | undefined,
): Promise<Found | undefined> {
  try {
    const res = await whenStarted(() =>
      client.index({
        index,
        id: META_ID,
        document: doc,
        refresh: true,
        ...(expected ? expected.seq : { op_type: 'create' as const }),
      }),
    );
    return { doc, seq: { if_seq_no: res._seq_no!, if_primary_term: res._primary_term! } };
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 409) return undefined;
    throw err;
  }
}
