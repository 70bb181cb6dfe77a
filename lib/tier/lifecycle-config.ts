// S3 configuration for users who prefer the server to do part of the work: lifecycle transitions per retention
// class (never expirations: deletion stays with Strata, its holds and its proof) and a bucket policy (TLS only,
// SSE required, deletes only by the Strata deleter role). Pure: from the archived workflows' timelines.
import { TIERS, type Tier } from '../policy/facts.ts';
import type { StorageClass } from '../store/store.ts';
import type { ArchivedWorkflow } from './plan.ts';

const DAY = 86_400_000;
/**
 * A pack can be older than a workflow that deduplicated into it by up to its group's month: transitions by object
 * age are pushed back by that much, so the server never moves a pack before every workflow in it is due.
 */
export const GROUP_SKEW_DAYS = 31;
/** S3 refuses transitions to STANDARD_IA (and ONEZONE_IA) sooner than this after creation. */
const IA_MINIMUM_DAYS = 30;

export interface LifecycleRule {
  ID: string;
  Status: 'Enabled';
  Filter: { Prefix: string };
  Transitions: Array<{ Days: number; StorageClass: StorageClass }>;
}

/** The retention class part of an archive group (`succeeded-2026-11` → `succeeded`). */
export function retentionClassOf(group: string): string {
  return group.replace(/-(\d{4}-\d{2}|unscheduled)$/, '');
}

export function lifecycleRules(
  workflows: readonly ArchivedWorkflow[],
  classes: Record<Tier, StorageClass>,
  keyPrefix: string,
): { rules: LifecycleRule[]; notes: string[] } {
  const notes: string[] = [];
  const byClass = new Map<string, ArchivedWorkflow[]>();
  for (const w of workflows) {
    const c = retentionClassOf(w.group);
    byClass.set(c, [...(byClass.get(c) ?? []), w]);
  }
  // A class whose name, with a dash, starts another's has a prefix that matches that class's packs too.
  for (const a of [...byClass.keys()]) {
    for (const b of byClass.keys()) {
      if (a !== b && b.startsWith(`${a}-`)) {
        notes.push(
          `retention class "${a}" is a prefix of "${b}": no rule for "${a}" (its prefix would also move "${b}")`,
        );
        byClass.delete(a);
        break;
      }
    }
  }
  const rules: LifecycleRule[] = [];
  for (const [cls, ws] of [...byClass].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const undecided = ws.filter((w) => !w.timeline);
    if (undecided.length) {
      notes.push(`retention class "${cls}": policy cannot decide for ${undecided.length} workflow(s): no rule`);
      continue;
    }
    const transitions: LifecycleRule['Transitions'] = [];
    for (const tier of TIERS.slice(1)) {
      let latest = 0;
      let everyone = true;
      for (const w of ws) {
        const t = w.timeline!;
        const stay = t.stays.find((s) => s.tier === tier);
        if (!stay) {
          everyone = false;
          break;
        }
        latest = Math.max(latest, (stay.from.getTime() - t.archiveAt!.getTime()) / DAY);
      }
      if (!everyone) continue;
      let days = Math.ceil(latest) + GROUP_SKEW_DAYS;
      if (classes[tier] === 'STANDARD_IA' && days < IA_MINIMUM_DAYS) days = IA_MINIMUM_DAYS;
      const before = transitions.at(-1);
      if (before && days <= before.Days) days = before.Days + 1;
      transitions.push({ Days: days, StorageClass: classes[tier] });
    }
    if (!transitions.length) {
      notes.push(`retention class "${cls}": no tier every one of its workflows reaches: no rule`);
      continue;
    }
    // Policy groups are `<class>-<month>`; a group named by hand (`--group`) is the class itself.
    const plain = ws.filter((w) => w.group === cls).length;
    if (plain && plain < ws.length) {
      notes.push(`retention class "${cls}" has a group of that very name and monthly ones: no rule`);
      continue;
    }
    rules.push({
      ID: `strata-${cls}`.slice(0, 255),
      Status: 'Enabled',
      Filter: { Prefix: `${keyPrefix}archive/packs/${cls}${plain ? '/' : '-'}` },
      Transitions: transitions,
    });
  }
  return { rules, notes };
}

/** Deny plain HTTP, writes without server-side encryption, and deletes by anyone but the Strata deleter role. */
export function bucketPolicy(bucket: string, keyPrefix: string, deleterRoleArn: string): object {
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objects = `${bucketArn}/${keyPrefix}*`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'StrataTlsOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'StrataSseRequired',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: objects,
        Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
      },
      {
        Sid: 'StrataDeletesOnlyByDeleter',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        Resource: objects,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': deleterRoleArn } },
      },
    ],
  };
}
