// The tier plan as tables for a terminal: moves with bytes and money, what waits and why, expiries, totals.
import { formatTable } from '../../lib/cli/output.ts';
import type { DeletionOutcome, TierPlan } from '../../lib/tier/index.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** Amounts per pack are often fractions of a cent: keep two significant digits there. */
export function money(n: number): string {
  if (n === 0) return '0';
  return Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(2);
}

const short = (group: string, packId: string) => `${group}/${packId.slice(0, 12)}`;

export function renderPlan(plan: TierPlan): string {
  const c = plan.currency;
  const parts: string[] = [];
  parts.push(
    `Moves (${plan.moves.length}):`,
    formatTable(
      plan.moves.map((m) => ({
        pack: short(m.group, m.packId),
        bytes: bytes(m.bytes),
        from: m.from,
        to: m.to,
        [`monthly now (${c})`]: money(m.cost.monthlyBefore),
        [`monthly after (${c})`]: money(m.cost.monthlyAfter),
        [`early deletion (${c})`]: money(m.cost.earlyDeletion),
        [`transition (${c})`]: money(m.cost.transition),
        reason: m.reason,
      })),
    ),
  );
  if (plan.waiting.length) {
    parts.push(
      '',
      `Waiting (${plan.waiting.length}):`,
      formatTable(
        plan.waiting.map((w) => ({
          pack: short(w.group, w.packId),
          bytes: bytes(w.bytes),
          tier: w.tier,
          due: w.due,
          reason: w.reason,
        })),
      ),
    );
  }
  parts.push(
    '',
    `Expiries (${plan.expiries.length}):`,
    formatTable(
      plan.expiries.map((e) => ({
        workflow: `${e.namespace}/${e.name}`,
        uid: e.uid,
        manifests: e.manifests.length,
        reason: e.reason,
      })),
    ),
  );
  if (plan.deletions.length || plan.repacks.length) {
    parts.push(
      '',
      `Packs freed by expiry (${plan.deletions.length}) and to repack (${plan.repacks.length}):`,
      formatTable([
        ...plan.deletions.map((d) => ({
          pack: short(d.group, d.packId),
          bytes: bytes(d.bytes),
          tier: d.tier,
          action: 'delete',
          [`monthly now (${c})`]: money(d.cost.monthlyBefore),
          [`early deletion (${c})`]: money(d.cost.earlyDeletion),
        })),
        ...plan.repacks.map((r) => ({
          pack: short(r.group, r.packId),
          bytes: bytes(r.bytes),
          tier: r.tier,
          action: `repack (keeps ${r.live.length} workflow(s))`,
          [`monthly now (${c})`]: '',
          [`early deletion (${c})`]: '',
        })),
      ]),
    );
  }
  if (plan.kept.length) {
    parts.push('', `Kept past retention (${plan.kept.length}):`, formatTable(plan.kept));
  }
  return parts.join('\n');
}

export function renderDeletions(outcomes: readonly DeletionOutcome[]): string {
  return [
    `Deletions carried out (${outcomes.length}):`,
    formatTable(
      outcomes.map((o) => ({
        workflow: o.uid,
        kind: o.kind,
        outcome: o.outcome,
        manifests: o.manifests.length,
        'packs deleted': o.packsDeleted.length,
        repacked: o.repacked.length,
        'chunks deleted': o.chunksDeleted.length,
        'still present': o.stillPresent.length,
        reason: o.reason,
      })),
    ),
  ].join('\n');
}
