// Benchmark (not a test): retention decisions per second for the default policies over 100k generated workflows.
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decideRetention, loadPolicySet, workflowFacts, type WorkflowFacts } from '../../lib/policy/index.ts';
import { readPolicySources } from '../../lib/policy-files/policy-files.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A deterministic pseudo-random sequence, so every run decides over the same workflows. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const PHASES = ['Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Error', 'Running'];
const NAMESPACES = ['agents', 'ci', 'finance', 'billing-eu', 'data-eu', 'security', 'argo'];
const STAGES = ['waiting-ready-for-qa', 'waiting-pr-approved', 'waiting-pr-merged'];

export function generateWorkflows(n: number, seed = 42): WorkflowFacts[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const base = Date.UTC(2020, 0, 1);
  const out: WorkflowFacts[] = [];
  for (let i = 0; i < n; i++) {
    const labels: Record<string, string> = { 'workflows.argoproj.io/completed': 'true' };
    if (r() < 0.4) {
      labels['workflow-type'] = 'play-orchestration';
      labels['task-id'] = String(Math.floor(r() * 500));
      labels.repository = pick(['5dlabs-cto', '5dlabs-docs', 'acme-api']);
      labels['current-stage'] = pick(STAGES);
    } else if (r() < 0.1) labels['workflow-type'] = 'security-scan';
    if (r() < 0.05) labels['strata.dev/priority-class'] = 'critical';
    if (r() < 0.05) labels['compliance.strata.dev/class'] = 'financial';
    const started = base + Math.floor(r() * 6 * 365) * 86_400_000;
    const phase = pick(PHASES);
    const wf = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: `wf-${i}`, uid: `uid-${i}`, namespace: pick(NAMESPACES), labels, annotations: {} },
      spec: { entrypoint: 'main', arguments: { parameters: [{ name: 'task-id', value: labels['task-id'] ?? '0' }] } },
      status: {
        phase,
        startedAt: new Date(started).toISOString(),
        ...(phase === 'Running' ? {} : { finishedAt: new Date(started + Math.floor(r() * 86_400_000)).toISOString() }),
      },
    };
    out.push(
      workflowFacts(
        wf,
        r() < 0.5
          ? {
              archive: {
                sizeBytes: Math.floor(r() * 1e9),
                tier: pick(['hot', 'warm', 'cold', 'deepArchive'] as const),
              },
            }
          : {},
      ),
    );
  }
  return out;
}

export async function runPolicyBench(opts: { workflows?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.workflows ?? 100_000;
  const { policySet, problems } = loadPolicySet(readPolicySources([resolve(repoRoot, 'policies')]));
  if (!policySet.valid)
    throw new Error(`default policies do not validate: ${problems.map((p) => p.message).join('; ')}`);
  const facts = generateWorkflows(n);
  const now = new Date('2026-06-01T00:00:00Z');
  // Warm up the JIT and the RE2 cache on a slice, then time the full run.
  for (let i = 0; i < Math.min(5000, n); i++) decideRetention(policySet, facts[i]!, now);
  // Best of three rounds: the machine is shared, so the quietest round is the closest to the engine's speed.
  // CPU time counts only this process's work on its one core; wall time includes waiting for the CPU.
  let best = { wall: Infinity, cpu: Infinity };
  const actions: Record<string, number> = {};
  let failedClosed = 0;
  for (let round = 0; round < 3; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const f of facts) {
      const d = decideRetention(policySet, f, now);
      if (round === 0) {
        actions[d.action] = (actions[d.action] ?? 0) + 1;
        if (d.failedClosed) failedClosed++;
      }
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(cpu0);
    const cpu = (c.user + c.system) / 1e6;
    if (wall < best.wall) best = { wall, cpu };
  }
  const seconds = best.wall;
  return {
    benchmark: 'policy decisions (default policies)',
    workflows: n,
    rules: policySet.rules.length,
    seconds: Number(seconds.toFixed(3)),
    decisionsPerSecond: Math.round(n / seconds),
    decisionsPerCpuSecond: Math.round(n / best.cpu),
    microsecondsPerDecision: Number(((seconds / n) * 1e6).toFixed(2)),
    actions,
    failedClosed,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runPolicyBench(), null, 2));
}
