// hack/*.sh, hack/e2e/*.sh and images/*.sh pass shellcheck (installed by hack/peers/install.sh; skipped with a note when missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const hasShellcheck = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasShellcheck)
  console.warn('skipping shellcheck of hack/*.sh: shellcheck is not installed (hack/peers/install.sh installs it)');

const scripts = [
  ...readdirSync(join(repoRoot, 'hack'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('hack', f)),
  ...readdirSync(join(repoRoot, 'hack/e2e'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('hack/e2e', f)),
  ...readdirSync(join(repoRoot, 'images'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('images', f)),
];

test('the kind and e2e scripts exist', () => {
  expect(scripts).toEqual(
    expect.arrayContaining([
      'hack/kind-up.sh',
      'hack/kind-e2e.sh',
      'hack/build-images.sh',
      'hack/e2e/build.sh',
      'hack/e2e/up.sh',
      'hack/e2e/down.sh',
      'hack/e2e/install.sh',
    ]),
  );
});

test.skipIf(!hasShellcheck).each(scripts)('shellcheck %s', (script) => {
  let out = '';
  try {
    execFileSync('shellcheck', ['--external-sources', '--format=gcc', script], { cwd: repoRoot, encoding: 'utf8' });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? err);
  }
  expect(out).toBe('');
});
