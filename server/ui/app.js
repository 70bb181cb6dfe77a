// The Strata dashboard: plain ES modules over the REST API (no build step). Every value from the API is put in the
// page as text (never as HTML), so an archived log or label cannot script the page.
/* global document, window, location, sessionStorage, fetch, URL, URLSearchParams, Node, crypto */
import { argoLinkView, storageView, verifyView } from './status.js';
import { restorePanel } from './restore-panel.js';
import { auditPanel, policyPanel, timelinePanel } from './workflow-panels.js';

const main = document.getElementById('main');
const TOKEN_KEY = 'strata.token';

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
};

const token = () => sessionStorage.getItem(TOKEN_KEY);

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token()}`, ...(options.headers ?? {}) },
  });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    render();
    throw new Error('the token is not valid');
  }
  if (!res.ok) {
    let message = `${res.status}`;
    try {
      message = (await res.json()).error.message;
    } catch {
      /* not JSON */
    }
    throw Object.assign(new Error(message), { status: res.status });
  }
  return res;
}

const json = async (path, options) => (await api(path, options)).json();
const showError = (where, err) => where.replaceChildren(el('p', { class: 'error', role: 'alert' }, err.message));

function login() {
  const input = el('input', { type: 'password', name: 'token', placeholder: 'bearer token', autocomplete: 'off' });
  const out = el('div');
  main.replaceChildren(
    el(
      'form',
      {
        class: 'login',
        onsubmit: async (e) => {
          e.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, input.value);
          try {
            await json('/api/v1/workflows?limit=1');
            render();
          } catch (err) {
            showError(out, err);
          }
        },
      },
      el('label', {}, 'Token', input),
      el('button', { type: 'submit' }, 'Log in'),
    ),
    out,
  );
}

/** An RFC 3339 time as a datetime-local input's value (local time, minutes). */
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** A request id for a restore (crypto.randomUUID needs a secure context; getRandomValues does not). */
const requestId = () =>
  `ui-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

const FILTERS = ['namespace', 'namePrefix', 'phase', 'labelSelector', 'finishedAfter', 'finishedBefore'];

function listView(params) {
  const inputs = Object.fromEntries(
    FILTERS.map((f) => [
      f,
      el('input', {
        name: f,
        value: f.startsWith('finished') ? toLocalInput(params.get(f)) : (params.get(f) ?? ''),
        type: f.startsWith('finished') ? 'datetime-local' : 'text',
        placeholder: f === 'labelSelector' ? 'team=a,tier in (gold)' : '',
      }),
    ]),
  );
  const rows = el('tbody');
  const more = el('button', { hidden: true }, 'More');
  const out = el('div');
  let cursor;
  const query = () => {
    const q = new URLSearchParams();
    for (const [f, input] of Object.entries(inputs)) {
      if (!input.value) continue;
      q.set(f, f.startsWith('finished') ? new Date(input.value).toISOString() : input.value);
    }
    return q;
  };
  const load = async (append) => {
    const q = new URLSearchParams([...params].filter(([k]) => FILTERS.includes(k)));
    q.set('limit', '50');
    if (append && cursor) q.set('cursor', cursor);
    try {
      const page = await json(`/api/v1/workflows?${q}`);
      if (!append) rows.replaceChildren();
      out.replaceChildren();
      for (const w of page.items) {
        rows.append(
          el(
            'tr',
            { 'data-manifest': w.manifestId },
            el('td', {}, w.namespace),
            el('td', {}, el('a', { href: `#/workflow/${w.manifestId}` }, w.name)),
            el('td', { class: `phase-${w.phase}` }, w.phase ?? ''),
            el('td', {}, w.finishedAt ?? w.startedAt ?? ''),
            el(
              'td',
              {},
              Object.entries(w.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', '),
            ),
            el('td', {}, w.incomplete ? 'incomplete' : ''),
          ),
        );
      }
      if (!append && page.items.length === 0) out.replaceChildren(el('p', {}, 'No archived workflows match.'));
      cursor = page.nextCursor;
      more.hidden = !cursor;
    } catch (err) {
      showError(out, err);
    }
  };
  more.addEventListener('click', () => load(true));
  main.replaceChildren(
    searchForm(),
    el(
      'form',
      {
        class: 'filters',
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/?${query()}`;
        },
      },
      FILTERS.map((f) => el('label', {}, f, inputs[f])),
      el('button', { type: 'submit' }, 'Filter'),
    ),
    out,
    el(
      'table',
      { id: 'workflows' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Namespace', 'Name', 'Phase', 'Finished', 'Labels', ''].map((h) => el('th', {}, h)),
        ),
      ),
      rows,
    ),
    more,
  );
  return load(false);
}

/** A snippet with its matches marked, from the hit's plain text and [start, end) offsets. */
function highlighted(text, ranges) {
  const parts = [];
  let at = 0;
  for (const [s, e] of ranges) {
    parts.push(text.slice(at, s), el('mark', {}, text.slice(s, e)));
    at = e;
  }
  parts.push(text.slice(at));
  return parts;
}

function searchForm(q = '') {
  const input = el('input', { name: 'q', value: q, placeholder: 'search logs: words, "phrase", prefix*' });
  return el(
    'form',
    {
      class: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        location.hash = `#/search?${new URLSearchParams({ q: input.value })}`;
      },
    },
    el('label', {}, 'Search', input),
    el('button', { type: 'submit' }, 'Search'),
  );
}

async function searchView(params) {
  const q = params.get('q') ?? '';
  const out = el('div');
  const list = el('ul', { id: 'hits' });
  main.replaceChildren(searchForm(q), out, list);
  try {
    const { hits } = await json(`/api/v1/search?${new URLSearchParams({ q })}`);
    if (hits.length === 0) out.replaceChildren(el('p', {}, 'No hits.'));
    for (const h of hits) {
      const link = `#/workflow/${h.manifestId}?node=${encodeURIComponent(h.nodeId ?? '')}&line=${h.line}`;
      list.append(
        el(
          'li',
          {},
          el('a', { href: link }, `${h.namespace}/${h.name}`),
          ` ${h.nodeId ?? ''} ${h.path}:${h.line} — `,
          el('span', { class: 'snippet' }, highlighted(h.snippetText, h.highlights)),
        ),
      );
    }
  } catch (err) {
    showError(out, err);
  }
}

function nodeTree(nodes, onLog) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const childIds = new Set(nodes.flatMap((n) => n.children));
  const item = (n, seen) => {
    const li = el(
      'li',
      { 'data-node': n.id },
      el('span', { class: `phase-${n.phase}` }, n.displayName ?? n.name ?? n.id),
      ` ${n.type ?? ''} ${n.phase ?? ''} `,
      n.logs.map((l) => el('button', { type: 'button', onclick: () => onLog(n, l) }, `log: ${l.container}`)),
    );
    const kids = n.children.filter((c) => byId.has(c) && !seen.has(c));
    if (kids.length)
      li.append(
        el(
          'ul',
          {},
          kids.map((c) => item(byId.get(c), new Set([...seen, c]))),
        ),
      );
    return li;
  };
  const roots = nodes.filter((n) => !childIds.has(n.id));
  return el(
    'ul',
    { class: 'tree' },
    (roots.length ? roots : nodes).map((n) => item(n, new Set([n.id]))),
  );
}

function logViewer(manifestId, node, log, jumpTo) {
  const pre = el('pre', { class: 'log', id: 'log' });
  const grep = el('input', { name: 'grep', placeholder: 'search in this log' });
  const line = el('input', { name: 'line', type: 'number', min: 1, placeholder: 'line', value: jumpTo ?? '' });
  const out = el('div');
  const base = `/api/v1/workflows/${manifestId}/nodes/${encodeURIComponent(node.id)}/log?container=${encodeURIComponent(log.container)}`;
  const show = async () => {
    out.replaceChildren();
    try {
      if (grep.value) {
        pre.replaceChildren(
          (await (await api(`${base}&grep=${encodeURIComponent(grep.value)}`)).text()) || '(no matching lines)',
        );
        return;
      }
      // The first MiB: a huge log is read by range, never whole.
      const res = await api(base, { headers: { range: 'bytes=0-1048575' } });
      const lines = (await res.text()).split('\n');
      pre.replaceChildren(
        ...lines.map((l, i) =>
          el('div', { id: `L${i + 1}`, class: String(i + 1) === line.value ? 'hit' : '' }, `${i + 1}  ${l}`),
        ),
      );
      if (line.value) document.getElementById(`L${line.value}`)?.scrollIntoView({ block: 'center' });
    } catch (err) {
      showError(out, err);
    }
  };
  const section = el(
    'section',
    { id: 'log-viewer' },
    el('h3', {}, `Log of ${node.displayName ?? node.id} (${log.container})`),
    el(
      'form',
      {
        class: 'search',
        onsubmit: (e) => {
          e.preventDefault();
          void show();
        },
      },
      el('label', {}, 'Grep', grep),
      el('label', {}, 'Jump to line', line),
      el('button', { type: 'submit' }, 'Show'),
    ),
    out,
    pre,
  );
  void show();
  return section;
}

async function download(path, name) {
  const blob = await (await api(path)).blob();
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

/** A link showing `file` that fetches `path` with the caller's token and saves it under `file`'s last name. */
function downloadLink(path, file) {
  const onclick = (e) => (e.preventDefault(), download(path, file.split('/').pop()));
  return el('a', { href: '#', onclick }, file);
}

async function workflowView(manifestId, params) {
  const out = el('div');
  main.replaceChildren(el('p', {}, el('a', { href: '#/' }, '← all workflows')), out);
  let d;
  try {
    d = await json(`/api/v1/workflows/${manifestId}`);
  } catch (err) {
    showError(out, err);
    // A workflow whose packs are cold cannot be read, but it can be restored (its job thaws them first).
    if (err.status === 409) out.append(restorePanel({ el, json, showError }, manifestId, { requestId, downloadLink }));
    return;
  }
  const w = d.workflow;
  const logArea = el('div');
  const openLog = (node, log, line) => logArea.replaceChildren(logViewer(manifestId, node, log, line));
  const artifacts = d.entries.filter((e) => e.kind === 'artifact');
  out.replaceChildren(
    el('h2', { id: 'title' }, `${w.namespace}/${w.name}`),
    el(
      'p',
      {},
      el('span', { class: `phase-${w.phase}` }, w.phase ?? ''),
      ` started ${w.startedAt ?? '?'}, finished ${w.finishedAt ?? '?'}, archived ${w.archivedAt ?? '?'}`,
    ),
    el(
      'section',
      {},
      el('h3', {}, 'Nodes'),
      nodeTree(d.nodes, (n, l) => openLog(n, l)),
    ),
    logArea,
    el(
      'section',
      {},
      el('h3', {}, 'Artifacts'),
      artifacts.length === 0
        ? 'none'
        : el(
            'ul',
            { id: 'artifacts' },
            artifacts.map((a) =>
              el(
                'li',
                {},
                downloadLink(`/api/v1/workflows/${manifestId}/artifacts/${encodeURIComponent(a.path)}`, a.path),
                ` ${a.size ?? '?'} bytes`,
              ),
            ),
          ),
    ),
    el(
      'section',
      {},
      el('h3', {}, 'Holds'),
      d.holds.length === 0
        ? 'none'
        : el(
            'ul',
            {},
            d.holds.map((h) => el('li', {}, `${h.actor}: ${h.reason} (${h.created})${h.released ? ' released' : ''}`)),
          ),
    ),
    timelinePanel({ el, json, showError }, manifestId),
    policyPanel({ el, json, showError }, manifestId),
    auditPanel({ el, json, showError }, manifestId),
    restorePanel({ el, json, showError }, manifestId, { requestId, downloadLink }),
  );
  const node = d.nodes.find((n) => n.id === params.get('node'));
  if (node && node.logs[0]) openLog(node, node.logs[0], params.get('line') ?? undefined);
}

function render() {
  const logout = document.getElementById('logout');
  if (!token()) {
    logout.hidden = true;
    return login();
  }
  logout.hidden = false;
  const [path, query = ''] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const m = /^\/workflow\/([0-9a-f]{64})$/.exec(path ?? '');
  if (m) return workflowView(m[1], params);
  if (path === '/search') return searchView(params);
  const ui = { el, json, showError, main };
  if (path === '/storage') return storageView(ui);
  if (path === '/verify') return verifyView(ui);
  const argo = /^\/argo\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path ?? '');
  if (argo) return argoLinkView(ui, ...argo.slice(1).map(decodeURIComponent));
  return listView(params);
}

document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
});
window.addEventListener('hashchange', render);
render();
