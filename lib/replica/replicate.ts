// Keeps a replica store in step with the primary: copies what is missing (each copy read back and its SHA-256
// checked), heals a corrupted or lost object from whichever side is good (packs, manifests and indexes prove
// themselves by their content), reports drift, and with prune removes from the replica what the primary deleted.
// An encrypted repository is copied as it is stored (sealed bytes, wrapped keys): the replica is the same
// repository, readable with the same KEKs, and erasing a tenant's KEK reaches it too.
import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/audit.ts';
import { decodeManifest } from '../archive/manifest.ts';
import { decodeIndex } from '../archive/pack-format.ts';
import {
  INDEX_PREFIX,
  MANIFESTS_PREFIX,
  PACKS_PREFIX,
  parseGroupKey,
  readObject,
  HEX_ID,
} from '../archive/repository.ts';
import { NAME_REFS_PREFIX, refKeys, UID_REFS_PREFIX } from '../archive/workflow-refs.ts';
import type { Manifest } from '../archive/manifest.ts';
import { EncryptedStore, storeAsStored } from '../crypto/encrypted-store.ts';
import { KEYS_PREFIX } from '../crypto/keyring.ts';
import { describeError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { ObjectInfo, ObjectStore } from '../store/store.ts';

export interface ReplicateOptions {
  /** Read both sides of every object present on both and check it (else sizes only). */
  verify: boolean;
  /** Delete from the replica what the primary no longer has and no longer references. */
  prune: boolean;
  dryRun: boolean;
  progress?: Progress;
  audit?: AuditLog;
  /**
   * Residency: why a workflow (its manifest) may not be kept on this replica, or undefined when it may. Given, only
   * packs and indexes some allowed manifest references are copied, and what may not be there is reported (and
   * removed with prune).
   */
  refusal?: (manifest: Manifest) => string | undefined;
}

export interface ReplicateReport {
  checked: number;
  copied: string[];
  healed: Array<{ key: string; side: 'primary' | 'replica'; why: string }>;
  pruned: string[];
  /** Objects on the replica only, kept (no --prune, or still referenced). */
  extra: string[];
  drift: Array<{ key: string; problem: string }>;
  /** Not copied because of residency, with why. */
  refused: Array<{ key: string; why: string }>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Why these bytes are not what the key says, for objects that prove themselves; undefined when they are (or cannot tell). */
export function contentProblem(key: string, bytes: Buffer): string | undefined {
  const pack = parseGroupKey(PACKS_PREFIX, key);
  if (pack) return sha(bytes) === pack.packId ? undefined : 'content does not hash to the pack id';
  const index = parseGroupKey(INDEX_PREFIX, key);
  try {
    if (index) {
      if (decodeIndex(bytes, key).packId !== index.packId) return 'index names another pack';
      return undefined;
    }
    const id = key.startsWith(MANIFESTS_PREFIX) ? key.slice(MANIFESTS_PREFIX.length) : undefined;
    if (id && HEX_ID.test(id)) decodeManifest(id, bytes, key);
  } catch (err) {
    return describeError(err);
  }
  return undefined;
}

const selfProving = (key: string) =>
  Boolean(parseGroupKey(PACKS_PREFIX, key) || parseGroupKey(INDEX_PREFIX, key) || key.startsWith(MANIFESTS_PREFIX));

/**
 * How stored bytes are judged: as they are, or (an encrypted repository) opened with its keys first — a sealed
 * object is authenticated, so any of them proves itself, and a wrapped key must unwrap.
 */
interface Judge {
  content(key: string, stored: Buffer): Promise<Buffer>;
  problem(key: string, stored: Buffer): Promise<string | undefined>;
  provesItself(key: string): boolean;
}

function judgeOf(primary: ObjectStore): Judge {
  if (!(primary instanceof EncryptedStore))
    return {
      content: async (_key, stored) => stored,
      problem: async (key, stored) => contentProblem(key, stored),
      provesItself: selfProving,
    };
  return {
    content: (key, stored) => primary.unseal(key, stored),
    problem: async (key, stored) => {
      if (key.startsWith(KEYS_PREFIX)) return primary.keyring.keyObjectProblem(key, stored);
      let plain: Buffer;
      try {
        plain = await primary.unseal(key, stored);
      } catch (err) {
        return describeError(err);
      }
      return contentProblem(key, plain);
    },
    provesItself: () => true,
  };
}

async function listAll(store: ObjectStore): Promise<Map<string, ObjectInfo>> {
  const out = new Map<string, ObjectInfo>();
  for await (const o of store.list('')) out.set(o.key, o);
  return out;
}

/** Copies `key` from one store to the other and reads it back: the copy must have the source's bytes. */
async function copy(from: ObjectStore, to: ObjectStore, key: string, bytes?: Buffer): Promise<void> {
  const body = bytes ?? (await readObject(from, key));
  const digest = sha(body);
  await to.put(key, body, { sha256: digest, contentLength: body.length });
  const back = await readObject(to, key);
  if (sha(back) !== digest) throw new Error(`${key}: the copy read back does not match (${sha(back)} != ${digest})`);
}

export async function replicate(
  primaryStore: ObjectStore,
  replicaStore: ObjectStore,
  opts: ReplicateOptions,
): Promise<ReplicateReport> {
  const judge = judgeOf(primaryStore);
  const primary = storeAsStored(primaryStore);
  const replica = storeAsStored(replicaStore);
  const report: ReplicateReport = {
    checked: 0,
    copied: [],
    healed: [],
    pruned: [],
    extra: [],
    drift: [],
    refused: [],
  };
  const a = await listAll(primary);
  const b = await listAll(replica);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  opts.progress?.start(keys.length, 'replicate');
  // Still referenced on the primary: a pack or manifest it lists, named by its manifests or refs.
  const referenced = new Set<string>();
  const manifests = new Map<string, Manifest>();
  for (const [key] of a) {
    if (!key.startsWith(MANIFESTS_PREFIX)) {
      for (const p of [UID_REFS_PREFIX, NAME_REFS_PREFIX])
        if (key.startsWith(p)) referenced.add(`${MANIFESTS_PREFIX}${key.slice(key.lastIndexOf('/') + 1)}`);
      continue;
    }
    try {
      const stored = await readObject(primary, key);
      const m = decodeManifest(key.slice(MANIFESTS_PREFIX.length), await judge.content(key, stored), key);
      for (const p of m.packs) referenced.add(`${PACKS_PREFIX}${m.group}/${p}`).add(`${INDEX_PREFIX}${m.group}/${p}`);
      manifests.set(key, m);
    } catch {
      // an unreadable manifest on the primary is found below, when its two sides are compared
    }
  }
  const notHere = opts.refusal ? residencyOf(manifests, opts.refusal) : undefined;

  for (const key of keys) {
    opts.progress?.advance();
    report.checked++;
    const onA = a.get(key);
    const onB = b.get(key);
    const why = notHere?.(key, Boolean(onA));
    if (why) {
      if (!onB) report.refused.push({ key, why });
      else if (!onA && referenced.has(key))
        report.drift.push({ key, problem: `lost on the primary; the replica's copy may not live there (${why})` });
      else if (opts.prune) {
        if (!opts.dryRun) await replica.delete([key]);
        report.pruned.push(key);
      } else report.drift.push({ key, problem: `on a replica where it may not be (${why}); --prune removes it` });
      continue;
    }
    try {
      if (onA && !onB) {
        const bytes = await readObject(primary, key);
        const bad = await judge.problem(key, bytes);
        if (bad) {
          report.drift.push({ key, problem: `primary copy is bad (${bad}) and the replica has none` });
          continue;
        }
        if (!opts.dryRun) await copy(primary, replica, key, bytes);
        report.copied.push(key);
      } else if (!onA && onB) {
        if (referenced.has(key)) {
          // Lost on the primary, which still needs it: heal from the replica if its copy proves good.
          const bytes = await readObject(replica, key);
          const bad = await judge.problem(key, bytes);
          if (bad) report.drift.push({ key, problem: `lost on the primary; the replica's copy is bad too (${bad})` });
          else {
            if (!opts.dryRun) await copy(replica, primary, key, bytes);
            report.healed.push({ key, side: 'primary', why: 'missing on the primary, which references it' });
          }
        } else if (opts.prune) {
          if (!opts.dryRun) await replica.delete([key]);
          report.pruned.push(key);
        } else report.extra.push(key);
      } else if (onA && onB) {
        if (!opts.verify && onA.size === onB.size) continue;
        const [x, y] = [await readObject(primary, key), await readObject(replica, key)];
        if (sha(x) === sha(y)) continue;
        if (!judge.provesItself(key)) {
          report.drift.push({ key, problem: 'the two copies differ and neither proves itself: nothing overwritten' });
          continue;
        }
        const badA = await judge.problem(key, x);
        const badB = await judge.problem(key, y);
        if (!badA && !badB && (await sameContent(judge, key, x, y))) continue;
        if (badA && badB) report.drift.push({ key, problem: `both copies are bad (${badA}; ${badB})` });
        else if (!badA && !badB && key.startsWith(KEYS_PREFIX)) {
          // Both unwrap (a rotation whose old KEK is not retired yet): the primary's is the current wrap.
          if (!opts.dryRun) await copy(primary, replica, key, x);
          report.healed.push({ key, side: 'replica', why: "the primary's wrapped key is the current one" });
        } else if (badB) {
          if (!opts.dryRun) await copy(primary, replica, key, x);
          report.healed.push({ key, side: 'replica', why: badB });
        } else if (badA) {
          if (!opts.dryRun) await copy(replica, primary, key, y);
          report.healed.push({ key, side: 'primary', why: badA });
        } else report.drift.push({ key, problem: 'two different copies that both prove themselves' });
      }
    } catch (err) {
      report.drift.push({ key, problem: describeError(err) });
    }
  }
  opts.progress?.done();
  await opts.audit?.record({
    action: 'replicate',
    actor: 'strata/replicate',
    subject: `${primary.url} -> ${replica.url}`,
    outcome: report.drift.length ? 'failed' : 'ok',
    details: {
      dryRun: opts.dryRun,
      checked: report.checked,
      copied: report.copied.length,
      healed: report.healed,
      pruned: report.pruned,
      drift: report.drift,
      refused: report.refused.length,
    },
  });
  return report;
}

/** Two good copies sealed apart (a nonce differs) hold the same content. */
async function sameContent(judge: Judge, key: string, x: Buffer, y: Buffer): Promise<boolean> {
  return sha(await judge.content(key, x)) === sha(await judge.content(key, y));
}

/**
 * Which keys may not be on the replica, and why: a refused workflow's manifest, refs, packs and indexes; a manifest
 * sharing a pack with one (its refs too); any pack or index no allowed manifest references (its residency is
 * unknown: an unreadable manifest's, or an archive in progress), and a manifest that cannot be read.
 */
function residencyOf(
  manifests: ReadonlyMap<string, Manifest>,
  refusal: (m: Manifest) => string | undefined,
): (key: string, onPrimary: boolean) => string | undefined {
  const barred = new Map<string, string>();
  const packsOf = (m: Manifest) =>
    m.packs.flatMap((p) => [`${PACKS_PREFIX}${m.group}/${p}`, `${INDEX_PREFIX}${m.group}/${p}`]);
  const idOf = (key: string) => key.slice(MANIFESTS_PREFIX.length);
  const bar = (key: string, m: Manifest, why: string) => {
    for (const k of [key, ...refKeys(m.workflow, idOf(key))]) barred.set(k, why);
  };
  for (const [key, m] of manifests) {
    const why = refusal(m);
    if (!why) continue;
    bar(key, m, `workflow ${m.workflow.namespace}/${m.workflow.name}: ${why}`);
    for (const k of packsOf(m)) barred.set(k, `holds data of ${m.workflow.namespace}/${m.workflow.name}: ${why}`);
  }
  const allowed = new Set<string>();
  for (const [key, m] of manifests) {
    if (barred.has(key)) continue;
    const shared = packsOf(m).find((k) => barred.has(k));
    if (shared) bar(key, m, `shares ${shared} with a workflow that may not live there`);
    else for (const k of packsOf(m)) allowed.add(k);
  }
  return (key, onPrimary) => {
    const why = barred.get(key);
    if (why || !onPrimary) return why; // what only the replica has (deleted here) is the usual extra or prune
    if (key.startsWith(MANIFESTS_PREFIX) && !manifests.has(key)) return 'unreadable manifest: its residency is unknown';
    if ((key.startsWith(PACKS_PREFIX) || key.startsWith(INDEX_PREFIX)) && !allowed.has(key))
      return 'no manifest that may live there references it';
    return undefined;
  };
}
