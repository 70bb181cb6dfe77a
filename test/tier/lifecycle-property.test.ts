// Property: across random histories of archive (some in a compliance class, locked as they are written), clock, hold,
// release, extend, tier (moves, expiry, scheduled emergency deletions), gc, emergency deletion now or scheduled with
// a cancellation window, and cancellation, with crashes at random writes, no workflow
// loses data before its retention ends, before its compliance floor (emergency deletion included) or while it is
// held: every workflow that was never deletable at the moment a deletion ran restores byte for byte, at every step.
import { fc, test } from '@fast-check/vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import {
  archiveBundle,
  collectGarbage,
  initRepository,
  openRepository,
  restoreWorkflow,
  type Repository,
} from '../../lib/archive/index.ts';
import { discardAudit } from '../../lib/audit/audit.ts';
import { HoldRepository } from '../../lib/holds/hold-store.ts';
import { emergencyDelete, runScheduledDeletions } from '../../lib/pipeline/emergency-delete.ts';
import { cancelScheduled, dueDeletions, listScheduled } from '../../lib/tier/emergency-schedule.ts';
import { InputError } from '../../lib/errors.ts';
import { complianceRetention } from '../../lib/pipeline/policy-verdict.ts';
import { activeHolds, extendedUntil, type HoldsAndExtensions } from '../../lib/policy/holds.ts';
import { DEFAULT_PRICING } from '../../lib/policy/pricing.ts';
import { FileSystemStore } from '../../lib/store/fs.ts';
import type { ObjectStore } from '../../lib/store/store.ts';
import { applyTierPlan, deleteArchives, enforceLocks, gatherTierFacts, planTiering } from '../../lib/tier/index.ts';
import { bundleOf, SMALL } from '../archive/fixtures.ts';
import { policySet } from '../policy/helpers.ts';
import { Crash, CrashingStore, DAY, manifestsByUid, workflowAt } from './helpers.ts';

const base = mkdtempSync(join(tmpdir(), 'strata-lifecycle-prop-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let runs = 0;

const RETAIN_DAYS = 30;
/** A compliance class's floor, longer than the default retention. */
const FLOOR_DAYS = 45;
const set = policySet(
  [
    {
      name: 'financial',
      match: 'labels[?"class"].orValue("") == "financial"',
      complianceClass: 'financial',
      retainFor: `${FLOOR_DAYS}d`,
      priority: 50,
    },
  ],
  { archiveAfter: '0s', timeline: { hot: '3d', warm: '10d', cold: 'rest' }, retainFor: `${RETAIN_DAYS}d` },
);
const T0 = new Date('2026-01-01T00:00:00Z');
const BLOBS = [randomBytes(12_000), randomBytes(9_000), randomBytes(15_000)];

const arbOp = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('archive' as const),
      blobs: fc.subarray([0, 1, 2]),
      compliance: fc.boolean(),
      crashAt: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined, freq: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 25 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('hold' as const), who: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), who: fc.nat(5) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('extend' as const), who: fc.nat(5), days: fc.integer({ min: 1, max: 60 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('tier' as const),
      crashAt: fc.option(fc.integer({ min: 1, max: 25 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('gc' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('emergency' as const), who: fc.nat(5) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('schedule' as const),
      who: fc.nat(5),
      windowDays: fc.integer({ min: 1, max: 10 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), who: fc.nat(5) }) },
);

interface Wf {
  uid: string;
  finished: Date;
  files: Buffer[];
  /** Its compliance floor, when it is in the compliance class. */
  floor?: Date;
  /** A deletion ran while this workflow was deletable: from then on it may be gone. */
  mayBeGone: boolean;
}

async function holdsOf(store: ObjectStore): Promise<HoldsAndExtensions> {
  const h = new HoldRepository(store);
  return { holds: await h.listHolds(), extensions: await h.listExtensions() };
}

function deletable(w: Wf, holds: HoldsAndExtensions, now: Date, emergency = false): boolean {
  if (activeHolds(holds.holds, w.uid, now).length) return false;
  if (w.floor && now < w.floor) return false;
  if (emergency) return true;
  const ext = extendedUntil(holds.extensions, w.uid);
  const end = new Date(w.finished.getTime() + RETAIN_DAYS * DAY);
  return now >= end && !(ext && ext.until > now);
}

async function tierRun(repo: Repository, now: Date): Promise<void> {
  const holds = await holdsOf(repo.store);
  const facts = await gatherTierFacts(repo, {
    policySet: set,
    holds,
    pricing: DEFAULT_PRICING,
    now,
    classes: undefined,
  });
  const plan = planTiering(facts);
  // As strata tier does: the store's locks first (the local directory enforces legal holds and retention too).
  await enforceLocks(repo, facts.workflows, holds, now);
  await applyTierPlan(repo, plan, { classes: undefined, audit: discardAudit, now });
  await runScheduledDeletions({ repo, holds, audit: discardAudit, now, settleMs: 0 });
  const requests = plan.expiries.map((e) => ({
    kind: 'expiry' as const,
    uid: e.uid,
    namespace: e.namespace,
    name: e.name,
    manifests: e.manifests,
    reason: e.reason,
    actor: 'strata/tier',
  }));
  await deleteArchives(repo, requests, { audit: discardAudit, now, holds, settleMs: 0 });
}

/** Scheduled emergency deletions the coming tier run carries out: each may take its workflow if it is deletable now. */
async function dueNow(repo: Repository, wfs: Wf[], holds: HoldsAndExtensions, now: Date): Promise<void> {
  const { due } = dueDeletions((await listScheduled(repo)).schedules, now);
  for (const s of due) {
    const w = wfs.find((x) => x.uid === s.uid);
    if (w && deletable(w, holds, now, true)) w.mayBeGone = true;
  }
}

async function check(root: string, wfs: Wf[]): Promise<void> {
  const repo = await openRepository(new FileSystemStore(root));
  const present = await manifestsByUid(repo);
  for (const w of wfs) {
    if (w.mayBeGone) continue;
    const ids = present.get(w.uid);
    expect(ids, `workflow ${w.uid} lost its manifest`).toBeDefined();
    // restoreWorkflow checks every file against the SHA-256 recorded when it was archived.
    await restoreWorkflow(repo, ids!.at(-1)!, join(root, '..', `restore-${w.uid}-${Math.random()}`));
  }
}

test.prop([fc.array(arbOp, { minLength: 4, maxLength: 14 })], { numRuns: 25 })(
  'never deletes a workflow before its retention ends or while it is held',
  async (ops) => {
    const root = join(base, `run-${runs++}`, 'repo');
    // The store enforces retention by the history's clock.
    const store = new FileSystemStore(root, () => now);
    let repo = await initRepository(store, SMALL);
    let now = T0;
    const wfs: Wf[] = [];
    const pick = (i: number) => (wfs.length ? wfs[i % wfs.length] : undefined);
    const holdRepo = new HoldRepository(store);
    let seq = 0;
    for (const op of ops) {
      seq++;
      switch (op.op) {
        case 'archive': {
          const uid = `w${seq}`;
          const files = [...op.blobs.map((b) => BLOBS[b]!), randomBytes(3_000)];
          const labels: Record<string, string> = op.compliance ? { class: 'financial' } : {};
          const bundle = bundleOf(
            uid,
            files.map((data, i) => ({ path: `logs/${i}.log`, data })),
            workflowAt(uid, now, labels),
          );
          const target = op.crashAt ? await openRepository(new CrashingStore(store, op.crashAt)) : repo;
          try {
            // As strata archive does with a policy: a compliance class is written under COMPLIANCE retention.
            await archiveBundle(target, bundle, { group: 'g', retainUntil: complianceRetention(set, () => now) });
          } catch (err) {
            if (!(err instanceof Crash)) throw err;
            break; // not archived (or archived untracked): its locked packs are gc's to keep until the floor
          }
          const floor = op.compliance ? new Date(now.getTime() + FLOOR_DAYS * DAY) : undefined;
          wfs.push({ uid, finished: now, files, mayBeGone: false, ...(floor && { floor }) });
          break;
        }
        case 'advance':
          now = new Date(now.getTime() + op.days * DAY);
          break;
        case 'hold': {
          const w = pick(op.who);
          if (w)
            await holdRepo.setHold({
              workflowUid: w.uid,
              id: `h-${seq}`,
              actor: 'legal',
              reason: 'case',
              created: now,
            });
          break;
        }
        case 'release': {
          const w = pick(op.who);
          for (const h of w ? await holdRepo.listHolds(w.uid) : []) {
            if (h.released) continue;
            await holdRepo.releaseHold({
              workflowUid: h.workflowUid,
              id: h.id,
              actor: 'legal',
              reason: 'done',
              at: now,
            });
          }
          break;
        }
        case 'extend': {
          const w = pick(op.who);
          if (w)
            await holdRepo.addExtension({
              workflowUid: w.uid,
              id: `e-${seq}`,
              actor: 'audit',
              reason: 'keep',
              until: new Date(now.getTime() + op.days * DAY),
              created: now,
            });
          break;
        }
        case 'tier': {
          const holds = await holdsOf(store);
          for (const w of wfs) if (deletable(w, holds, now)) w.mayBeGone = true;
          await dueNow(repo, wfs, holds, now);
          const target = op.crashAt ? await openRepository(new CrashingStore(store, op.crashAt)) : repo;
          await tierRun(target, now).catch((err: unknown) => {
            if (!(err instanceof Crash)) throw err;
          });
          break;
        }
        case 'gc':
          await collectGarbage(repo, { graceMs: 0, now: new Date(now.getTime() + 365 * DAY) });
          break;
        case 'emergency': {
          const w = pick(op.who);
          if (!w) break;
          const holds = await holdsOf(store);
          if (deletable(w, holds, now, true)) w.mayBeGone = true;
          // As strata emergency-delete does: refused under a hold or before a COMPLIANCE retention ends.
          await emergencyDelete(
            { uid: w.uid, reason: 'breach', actor: 'alice', approver: 'bob', breakGlass: false, dryRun: false },
            { repo, holds, audit: discardAudit, now, settleMs: 0 },
          );
          break;
        }
        case 'schedule': {
          const w = pick(op.who);
          if (!w) break;
          // Only scheduled: nothing may go before the window ends (checked by every step's restore).
          await emergencyDelete(
            {
              uid: w.uid,
              reason: 'breach',
              actor: 'alice',
              approver: 'bob',
              breakGlass: false,
              dryRun: false,
              windowMs: op.windowDays * DAY,
            },
            { repo, holds: await holdsOf(store), audit: discardAudit, now, settleMs: 0 },
          );
          break;
        }
        case 'cancel': {
          const w = pick(op.who);
          if (!w) break;
          await cancelScheduled(repo, w.uid, { actor: 'bob', reason: 'false alarm', at: now }).catch((err: unknown) => {
            if (!(err instanceof InputError)) throw err; // nothing to cancel, or the window is over
          });
          break;
        }
      }
      await check(root, wfs);
      repo = await openRepository(store);
    }
    // A final undisturbed run must leave nothing half done.
    const holds = await holdsOf(store);
    for (const w of wfs) if (deletable(w, holds, now)) w.mayBeGone = true;
    await dueNow(repo, wfs, holds, now);
    await tierRun(repo, now);
    await check(root, wfs);
  },
  600_000,
);
