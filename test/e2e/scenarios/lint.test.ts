// Every manifest Strata ships passes the real `argo lint --offline`, both overlays as kustomize renders them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { e2eCluster, kubectl, run } from '../support/cluster.ts';

const cluster = e2eCluster();

describe.skipIf(!cluster)('argo lint --offline', () => {
  const c = cluster!;

  test.each(['dev', 'prod'])('templates/overlays/%s', async (overlay) => {
    const rendered = await kubectl(c, ['kustomize', `templates/overlays/${overlay}`]);
    expect(rendered).toContain('kind: WorkflowTemplate');
    const file = join(c.state, `rendered-${overlay}.yaml`);
    writeFileSync(file, rendered);
    const lint = await run(c, join(c.bin, 'argo'), ['lint', '--offline', file]);
    expect(lint.stdout + lint.stderr, `argo lint --offline of ${overlay}`).toMatch(/no linting errors found/i);
    expect(lint.code).toBe(0);
  });
});
