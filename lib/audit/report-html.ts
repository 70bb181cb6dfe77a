// A report as one self-contained HTML document an auditor can file (no scripts, no external resources; pure).
import type { CustodyReport, DeletionsReport, ReportBasis, ReportEvent, RetentionReport } from './reports.ts';

export type AuditReport = DeletionsReport | CustodyReport | RetentionReport;

const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function table(headers: string[], rows: unknown[][]): string {
  if (!rows.length) return '<p class="none">None.</p>';
  return (
    `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

function eventsTable(events: readonly ReportEvent[]): string {
  return table(
    ['#', 'time', 'action', 'outcome', 'actor', 'subject', 'reason', 'approver', 'hashes', 'inclusion proof'],
    events.map((e) => [
      esc(e.index),
      esc(e.at),
      esc(e.action),
      esc(e.outcome),
      `${esc(e.actor)}${e.verified ? '' : ' <span class="unverified">(unverified)</span>'}`,
      `<code>${esc(e.subject)}</code>`,
      esc(e.reason),
      esc(e.approver),
      (e.hashes ?? []).map((h) => `<code>${esc(h)}</code>`).join('<br>'),
      `<details><summary>record ${esc(e.index)}, ${e.proof.path.length} hashes</summary><pre>${esc(
        JSON.stringify(e.proof, null, 2),
      )}</pre></details>`,
    ]),
  );
}

function basisSection(b: ReportBasis): string {
  return (
    '<section class="basis"><h2>Built from</h2><dl>' +
    `<dt>tree head</dt><dd>${esc(b.head.seq)} (${esc(b.head.size)} records, sealed ${esc(b.head.at)})</dd>` +
    `<dt>root</dt><dd><code>${esc(b.head.root)}</code></dd>` +
    `<dt>signature</dt><dd>${
      b.signed ? `Ed25519, key ${esc(b.head.keyId)}, checked` : 'not checked (no public key given, or unsigned heads)'
    }</dd></dl>` +
    '<p>The same audit log up to this head yields this report byte for byte (<code>strata report … -o json</code>); ' +
    'each cited record carries its inclusion proof (<code>strata audit check-proof</code>).</p></section>'
  );
}

function body(r: AuditReport): { title: string; html: string } {
  switch (r.report) {
    case 'deletions':
      return {
        title: `Deletions ${r.from} to ${r.to}`,
        html:
          `<p>${r.deletions.length} deletion(s): ${
            Object.entries(r.totals)
              .map(([k, v]) => `${esc(k)} ${esc(v)}`)
              .join(', ') || 'none'
          }.</p>` +
          eventsTable(r.deletions) +
          '<h2>Begun, no outcome logged</h2>' +
          eventsTable(r.unfinished),
      };
    case 'custody':
      return {
        title: `Chain of custody: ${r.workflow}`,
        html:
          `<p>Status: <strong>${esc(r.status)}</strong>. Uid(s): ${r.uids.map((u) => `<code>${esc(u)}</code>`).join(', ')}. ` +
          `Manifests: ${r.manifests.map((m) => `<code>${esc(m)}</code>`).join(', ') || 'none'}.</p>` +
          eventsTable(r.events),
      };
    case 'retention':
      return {
        title: 'Retention',
        html:
          table(
            ['class (group)', 'workflows', 'original bytes', 'stored bytes', 'oldest', 'deleted', 'held'],
            r.classes.map((c) => [
              esc(c.group),
              esc(c.workflows),
              esc(c.bytes),
              esc(c.storedBytes),
              esc(c.oldest),
              esc(c.deleted),
              esc(c.held),
            ]),
          ) +
          '<h2>Holds in force</h2>' +
          table(
            ['workflow', 'hold', 'since', 'by', 'reason'],
            r.holds.map((h) => [
              `<code>${esc(h.workflow)}</code>`,
              esc(h.hold),
              esc(h.since),
              esc(h.by),
              esc(h.reason),
            ]),
          ) +
          `<h2>Violations (deletions under a hold, without break-glass): ${r.violations.length}</h2>` +
          eventsTable(r.violations),
      };
  }
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#eee}
code,pre{font:12px ui-monospace,monospace;word-break:break-all}.basis{background:#f6f6f6;padding:.5em 1em}
.unverified{color:#a40}.none{color:#666}dt{font-weight:bold}`;

export function renderReportHtml(r: AuditReport): string {
  const { title, html } = body(r);
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Strata: ${esc(title)}</title>` +
    `<style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${basisSection(r.basis)}${html}</body></html>\n`
  );
}
