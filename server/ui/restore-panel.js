// A workflow page's restore dialog: where to (download the files, or back into the namespace's artifact bucket),
// then the job's live progress — its phase, bytes, the thaw of its cold packs — until its verified outcome. Values
// from the API are text, never HTML.
/* global setTimeout */

const ENDED = ['Succeeded', 'Failed', 'Cancelled'];

/** The thaw line of a job's progress: cold packs waiting for their archive tier, or ready. */
export function thawText(thaw) {
  if (!thaw) return { state: 'unknown', text: 'Cold packs: not looked at yet' };
  const { state, coldPacks, readyPacks } = thaw;
  const packs = (n) => `${n} cold pack${n === 1 ? '' : 's'}`;
  if (state === 'not-needed') return { state, text: 'No cold packs: nothing to thaw' };
  if (state === 'thawing')
    return {
      state,
      text: `Thawing: ${readyPacks} of ${packs(coldPacks)} readable, ${coldPacks - readyPacks} waiting (archive tiers take hours)`,
    };
  return { state, text: `Thawed: ${packs(coldPacks)} readable again` };
}

/** What a restore into the artifact bucket did. */
export function bucketText(bucket) {
  return (
    `Restored into ${bucket.url}: ${bucket.written} written, ${bucket.unchanged} already there, ` +
    `${bucket.skipped} without a recorded key (not restored there)`
  );
}

/** The request body the dialog sends. */
export function restoreRequest(manifestId, requestId, target, overwrite) {
  return {
    requestId,
    manifestId,
    scope: { kind: 'workflow' },
    ...(target === 'bucket' && { target: { kind: 'bucket', overwrite } }),
  };
}

/**
 * `ui`: { el, json, showError }; `requestId()` makes an idempotency key; `downloadLink(path, file)` is a link that
 * fetches a result file.
 */
export function restorePanel(ui, manifestId, { requestId, downloadLink }) {
  const { el } = ui;
  const status = el('div', { id: 'restore-status' });
  const bar = el('div');
  const target = el(
    'select',
    { id: 'restore-target', name: 'target' },
    el('option', { value: 'download' }, 'Download the files'),
    el('option', { value: 'bucket' }, "Back into the namespace's artifact bucket"),
  );
  const overwrite = el('input', { type: 'checkbox', id: 'restore-overwrite', name: 'overwrite', disabled: true });
  target.addEventListener('change', () => {
    overwrite.disabled = target.value !== 'bucket';
    if (overwrite.disabled) overwrite.checked = false;
  });
  const button = el('button', { type: 'button', id: 'restore' }, 'Restore this workflow');

  const show = (job) => {
    const p = job.progress;
    bar.style.width = `${p.bytesTotal ? Math.round((100 * p.bytesDone) / p.bytesTotal) : 100}%`;
    const thaw = thawText(p.thaw);
    status.replaceChildren(
      el('span', { class: 'progress' }, bar),
      ` ${job.phase} — ${p.bytesDone}/${p.bytesTotal} bytes, ${p.entriesVerified}/${p.entriesTotal} verified`,
      el('p', { id: 'restore-thaw', 'data-state': thaw.state }, thaw.text),
    );
  };

  const outcome = (job) => {
    if (job.phase === 'Succeeded' && job.bucket) return el('p', { id: 'restore-done' }, bucketText(job.bucket));
    if (job.phase === 'Succeeded')
      return [
        el(
          'p',
          { id: 'restore-done' },
          `Restored and verified: ${job.result.files.length} files, ${job.result.bytes} bytes`,
        ),
        el(
          'ul',
          {},
          job.result.files.map((f) =>
            el(
              'li',
              {},
              downloadLink(`/api/v1/restores/${job.id}/files/${encodeURIComponent(f.path)}`, f.path),
              ` sha256 ${f.sha256.slice(0, 12)}…`,
            ),
          ),
        ),
      ];
    return [
      el('p', { class: 'error', id: 'restore-failed' }, job.error ?? job.phase),
      ...(job.bucket?.conflicts.length
        ? [
            el(
              'ul',
              { id: 'restore-conflicts' },
              job.bucket.conflicts.map((c) => el('li', {}, `${c.key}: ${c.reason}`)),
            ),
          ]
        : []),
    ];
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      let job = await ui.json('/api/v1/restores', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(restoreRequest(manifestId, requestId(), target.value, overwrite.checked)),
      });
      for (;;) {
        show(job);
        if (ENDED.includes(job.phase)) break;
        await new Promise((r) => setTimeout(r, 500));
        job = await ui.json(`/api/v1/restores/${job.id}`);
      }
      status.append(...[outcome(job)].flat());
    } catch (err) {
      ui.showError(status, err);
    } finally {
      button.disabled = false;
    }
  });
  return el(
    'section',
    { id: 'restore-dialog' },
    el('h3', {}, 'Restore'),
    el(
      'div',
      { class: 'restore-options' },
      el('label', {}, 'Restore to', target),
      el('label', { class: 'inline' }, overwrite, 'replace objects that hold other bytes'),
      button,
    ),
    status,
  );
}
