// Sections of a workflow's page that load on their own: its tier timeline (where its packs are, what happened and
// what the policy plans), the policy's explanation, and its audit events. Values from the API are text, never HTML.

const TIER_NAMES = { hot: 'hot', warm: 'warm', cold: 'cold', deepArchive: 'deep archive' };

/** A section that shows "loading", then what `fill` puts in it, or the error (404 on an older server: "n/a"). */
function lazySection(ui, id, title, fill) {
  const body = ui.el('div', {}, 'loading…');
  const section = ui.el('section', { id }, ui.el('h3', {}, title), body);
  fill(body).catch((err) => ui.showError(body, err));
  return section;
}

export function timelinePanel(ui, manifestId) {
  return lazySection(ui, 'timeline', 'Tier timeline', async (body) => {
    const t = await ui.json(`/api/v1/workflows/${manifestId}/timeline`);
    const now = Object.entries(t.tiers)
      .filter(([, n]) => n > 0)
      .map(([tier, n]) => `${TIER_NAMES[tier] ?? tier}: ${n} pack${n === 1 ? '' : 's'}`)
      .join(', ');
    body.replaceChildren(
      ui.el('p', {}, `Now: ${now || 'no pack recorded in a tier'}`),
      t.events.length === 0
        ? ui.el('p', {}, 'No events.')
        : ui.el(
            'ol',
            { class: 'timeline' },
            t.events.map((e) =>
              ui.el(
                'li',
                { 'data-kind': e.kind, class: e.kind.startsWith('planned') ? 'planned' : '' },
                ui.el('span', { class: 'when' }, e.at),
                ` ${e.kind}${e.tier ? ` → ${TIER_NAMES[e.tier] ?? e.tier}` : ''}: ${e.detail}`,
                e.actor ? ` (${e.actor})` : '',
              ),
            ),
          ),
    );
  });
}

export function policyPanel(ui, manifestId) {
  return lazySection(ui, 'policy', 'Retention policy', async (body) => {
    const p = await ui.json(`/api/v1/workflows/${manifestId}/policy`);
    const s = p.schedule;
    const plan = [
      s.archiveOn && `archive ${s.archiveOn}`,
      s.warmOn && `warm ${s.warmOn}`,
      s.coldOn && `cold ${s.coldOn}`,
      s.deepArchiveOn && `deep archive ${s.deepArchiveOn}`,
      `delete ${s.deleteOn}`,
    ].filter(Boolean);
    body.replaceChildren(
      ui.el(
        'p',
        {},
        `Now: ${p.action}${p.targetTier ? ` to ${p.targetTier}` : ''}, by ${p.winningRule ?? 'the defaults'}`,
        p.failedClosed ? ' (failed closed: nothing moves or is deleted)' : '',
      ),
      ui.el('p', {}, `Schedule: ${plan.join(', ')}`),
      ui.el(
        'ul',
        {},
        p.reasons.map((r) => ui.el('li', {}, r)),
      ),
    );
  });
}

export function auditPanel(ui, manifestId) {
  return lazySection(ui, 'audit-events', 'Audit events', async (body) => {
    const { items } = await ui.json(`/api/v1/workflows/${manifestId}/audit?limit=50`);
    if (items.length === 0) return void body.replaceChildren(ui.el('p', {}, 'No audit records.'));
    const what = (e) =>
      [e.details?.what, e.details?.path, e.details?.range && `bytes ${e.details.range}`, e.reason]
        .filter((v) => typeof v === 'string' && v !== '')
        .join(' ');
    body.replaceChildren(
      ui.el(
        'table',
        {},
        ui.el(
          'thead',
          {},
          ui.el(
            'tr',
            {},
            ['When', 'Action', 'Outcome', 'By', 'What'].map((h) => ui.el('th', {}, h)),
          ),
        ),
        ui.el(
          'tbody',
          {},
          items.map((e) =>
            ui.el(
              'tr',
              { 'data-action': e.action },
              ui.el('td', {}, e.at),
              ui.el('td', {}, e.action),
              ui.el('td', { class: `outcome-${e.outcome}` }, e.outcome),
              ui.el(
                'td',
                {},
                `${e.actor}${e.verified ? '' : ' (unverified)'}${e.approver ? `, approved by ${e.approver}` : ''}`,
              ),
              ui.el('td', {}, what(e)),
            ),
          ),
        ),
      ),
    );
  });
}
