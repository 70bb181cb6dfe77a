// The dashboard's status pages: storage and cost per tier and policy, verify/scrub/drill status, and the landing
// page of the Argo UI's link (namespace/name/uid → the archived workflow). Values from the API are text, never HTML.
/* global location, URLSearchParams */

const TIER_NAMES = { hot: 'hot', warm: 'warm', cold: 'cold', deepArchive: 'deep archive' };

/** Bytes as a short human number (binary units). */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A monthly amount in cents; a tiny one is not shown as zero. */
export function formatMoney(amount, currency) {
  if (!Number.isFinite(amount)) return '?';
  return amount > 0 && amount < 0.005 ? `< 0.01 ${currency}` : `${amount.toFixed(2)} ${currency}`;
}

const table = (ui, id, headers, rows) =>
  ui.el(
    'table',
    { id },
    ui.el(
      'thead',
      {},
      ui.el(
        'tr',
        {},
        headers.map((h) => ui.el('th', {}, h)),
      ),
    ),
    ui.el('tbody', {}, rows),
  );

export async function storageView(ui) {
  const out = ui.el('div');
  ui.main.replaceChildren(ui.el('h2', {}, 'Storage and cost'), out);
  let r;
  try {
    r = await ui.json('/api/v1/storage');
  } catch (err) {
    return ui.showError(out, err);
  }
  const money = (v) => formatMoney(v, r.currency);
  const tierRows = r.tiers.map((t) =>
    ui.el(
      'tr',
      { 'data-tier': t.tier },
      ui.el('td', {}, TIER_NAMES[t.tier] ?? t.tier),
      ui.el('td', {}, r.pricing.tiers[t.tier]?.storageClass ?? ''),
      ui.el('td', {}, `${r.pricing.tiers[t.tier]?.perGBMonth ?? '?'} ${r.currency}`),
      ui.el('td', { class: 'num' }, formatBytes(t.storedBytes)),
      ui.el('td', { class: 'num' }, money(t.monthlyCost)),
    ),
  );
  const policyRows = r.policies.map((p) =>
    ui.el(
      'tr',
      { 'data-policy': p.name },
      ui.el('td', {}, p.name),
      ui.el('td', { class: 'num' }, String(p.manifests)),
      ui.el('td', { class: 'num' }, formatBytes(p.originalBytes)),
      ui.el('td', { class: 'num' }, formatBytes(p.storedBytes)),
      Object.keys(TIER_NAMES).map((t) => ui.el('td', { class: 'num' }, formatBytes(p.byTier[t]))),
      ui.el('td', { class: 'num' }, money(p.monthlyCost)),
    ),
  );
  out.replaceChildren(
    ui.el(
      'p',
      { id: 'storage-summary' },
      `${r.totals.manifests} archived workflows in ${r.namespaces.length} namespaces you may see: `,
      `${formatBytes(r.totals.originalBytes)} original, ${formatBytes(r.totals.storedBytes)} stored, `,
      `${money(r.totals.monthlyCost)} a month.`,
    ),
    ui.el(
      'section',
      {},
      ui.el('h3', {}, 'Per tier'),
      table(ui, 'storage-tiers', ['Tier', 'Storage class', 'Price per GiB-month', 'Stored', 'Per month'], tierRows),
    ),
    ui.el(
      'section',
      {},
      ui.el('h3', {}, 'Per policy (retention class)'),
      r.policies.length === 0
        ? ui.el('p', {}, 'Nothing archived in your namespaces.')
        : table(
            ui,
            'storage-policies',
            ['Policy', 'Workflows', 'Original', 'Stored', ...Object.values(TIER_NAMES), 'Per month'],
            policyRows,
          ),
    ),
    ui.el(
      'p',
      { class: 'note', id: 'storage-prices' },
      `Prices: ${r.pricing.source}. Stored bytes are the packs in the store (listed ${r.measuredAt}); packs are `,
      'shared within a timeline group, so each group is counted in proportion to the original bytes of your ',
      'namespaces in it.',
    ),
  );
}

const RUN_NUMBERS = {
  structure: ['manifests', 'packs', 'problems'],
  'read-data': ['packsRead', 'problems', 'corrupt'],
  scrub: ['scrub.read', 'scrub.failed', 'scrub.coverage', 'scrub.overdue', 'problems'],
  drill: ['passed', 'failed', 'bytes'],
};

function runSummary(run) {
  return (RUN_NUMBERS[run.kind] ?? [])
    .filter((k) => run.summary[k] !== undefined)
    .map((k) => {
      const v = run.summary[k];
      const label = k.replace(/^scrub\./, '');
      if (label === 'coverage') return `coverage ${(100 * v).toFixed(1)}%`;
      if (label === 'bytes') return formatBytes(v);
      return `${label} ${v}`;
    })
    .join(', ');
}

function runCard(ui, id, title, run) {
  if (!run) return ui.el('section', { id }, ui.el('h3', {}, title), ui.el('p', {}, 'No run recorded yet.'));
  return ui.el(
    'section',
    { id },
    ui.el('h3', {}, title),
    ui.el('p', {}, ui.el('span', { class: `outcome-${run.outcome}` }, run.outcome), ` ${run.at} by ${run.actor}`),
    ui.el('p', {}, runSummary(run)),
    run.reason ? ui.el('p', { class: 'error' }, run.reason) : undefined,
    run.workflows?.length
      ? ui.el(
          'ul',
          {},
          run.workflows.map((w) =>
            ui.el(
              'li',
              {},
              ui.el('a', { href: `#/workflow/${w.manifestId}` }, `${w.namespace}/${w.name}`),
              w.ok ? ' restored, every hash checked' : ` FAILED: ${(w.problems ?? []).join('; ')}`,
            ),
          ),
        )
      : undefined,
    run.otherWorkflows
      ? ui.el('p', { class: 'note' }, `${run.otherWorkflows} more in namespaces you cannot see`)
      : undefined,
  );
}

export async function verifyView(ui) {
  const out = ui.el('div');
  ui.main.replaceChildren(ui.el('h2', {}, 'Verification'), out);
  let s;
  try {
    s = await ui.json('/api/v1/verify-status');
  } catch (err) {
    return ui.showError(out, err);
  }
  out.replaceChildren(
    ui.el(
      'div',
      { class: 'cards' },
      runCard(ui, 'last-scrub', 'Last scrub', s.lastScrub),
      runCard(ui, 'last-drill', 'Last restore drill', s.lastDrill),
    ),
    ui.el(
      'section',
      {},
      ui.el('h3', {}, 'Objects failing verification'),
      ui.el(
        'p',
        {},
        `${s.scrub.packsTracked} packs have a scrub read on record; ${s.scrub.failedLastRead} failed their last one.`,
      ),
      s.failingPacks.length === 0
        ? ui.el('p', { id: 'failing-none' }, 'None: every pack read so far checked.')
        : table(
            ui,
            'failing-packs',
            ['Pack', 'Policy', 'Found', 'By'],
            s.failingPacks.map((p) =>
              ui.el(
                'tr',
                {},
                ui.el('td', { class: 'mono' }, p.key),
                ui.el('td', {}, p.policy),
                ui.el('td', {}, p.at),
                ui.el('td', {}, p.source),
              ),
            ),
          ),
    ),
    ui.el(
      'section',
      {},
      ui.el('h3', {}, 'Recent runs'),
      s.runs.length === 0
        ? ui.el('p', {}, 'No verify, scrub or drill run recorded yet.')
        : table(
            ui,
            'verify-runs',
            ['When', 'Kind', 'By', 'Outcome', 'Numbers'],
            s.runs.map((r) =>
              ui.el(
                'tr',
                { 'data-kind': r.kind },
                ui.el('td', {}, r.at),
                ui.el('td', {}, r.kind),
                ui.el('td', {}, r.actor),
                ui.el('td', { class: `outcome-${r.outcome}` }, r.outcome),
                ui.el('td', {}, runSummary(r)),
              ),
            ),
          ),
      s.truncated ? ui.el('p', { class: 'note' }, 'Older runs are in the audit log (strata audit).') : undefined,
    ),
  );
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const UID = /^[0-9a-fA-F-]{1,64}$/;

/**
 * Where the Argo UI's link lands (`#/argo/<namespace>/<name>/<uid>`): the archived workflow with that uid, else
 * the archived runs of that name, else why there is none.
 */
export async function argoLinkView(ui, namespace, name, uid) {
  const out = ui.el('div');
  ui.main.replaceChildren(ui.el('h2', {}, `${namespace}/${name}`), out);
  if (!NAMESPACE.test(namespace) || !NAME.test(name) || !UID.test(uid))
    return ui.showError(out, new Error('this link does not name a workflow (namespace/name/uid)'));
  const base = new URLSearchParams({ namespace, namePrefix: name, limit: '50' });
  try {
    const exact = new URLSearchParams(base);
    exact.set('filter', `uid == "${uid}"`);
    const hit = (await ui.json(`/api/v1/workflows?${exact}`)).items[0];
    if (hit) {
      location.replace(`#/workflow/${hit.manifestId}`);
      return;
    }
    const same = (await ui.json(`/api/v1/workflows?${base}`)).items.filter((w) => w.name === name);
    out.replaceChildren(
      ui.el(
        'p',
        { id: 'argo-not-archived' },
        `Workflow ${namespace}/${name} (uid ${uid}) is not archived, or not yet.`,
      ),
      same.length
        ? ui.el(
            'ul',
            {},
            same.map((w) =>
              ui.el(
                'li',
                {},
                ui.el('a', { href: `#/workflow/${w.manifestId}` }, `${w.namespace}/${w.name}`),
                ` uid ${w.uid}, finished ${w.finishedAt ?? '?'}`,
              ),
            ),
          )
        : undefined,
    );
  } catch (err) {
    ui.showError(out, err);
  }
}
