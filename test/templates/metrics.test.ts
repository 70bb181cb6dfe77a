// The metrics the templates have Argo emit and the alerts shipped on them: every metric is well formed and fed by
// an output parameter its step writes; every alert reads only metrics (and labels) that something emits, so a
// renamed metric or label breaks this test rather than silently muting an alert.
import { describe, expect, test } from 'vitest';
import { renderMetrics } from '../../lib/metrics/prometheus.ts';
import { watchMetrics } from '../../lib/metrics/watch.ts';
import { AUDIT_WRITE_FAILURES_OUTPUT } from '../../lib/cli/run-step.ts';
import { allManifests, type Manifest } from './manifests.ts';
import { promqlReads } from './promql.ts';

interface ArgoMetric {
  name: string;
  help: string;
  labels?: { key: string; value: string }[];
  when?: string;
  counter?: { value: string };
  gauge?: { value: string; realtime: boolean; operation?: string };
  histogram?: unknown;
}
interface OutputParameter {
  name: string;
  valueFrom?: { path?: string; default?: string };
}
interface Template {
  name: string;
  container?: { args?: string[] };
  outputs?: { parameters?: OutputParameter[] };
  metrics?: { prometheus: ArgoMetric[] };
}
interface Emitted {
  /** As Prometheus sees it: Argo prefixes custom metrics with argo_workflows_. */
  exposed: string;
  metric: ArgoMetric;
  where: string;
  /** The pod template that emits it, or undefined for a workflow-level metric. */
  template?: Template;
}

/** Argo (v3.6 and later) exposes a custom metric `x` as `argo_workflows_x`. */
const ARGO_PREFIX = 'argo_workflows_';

const manifests = allManifests();
const workflowTemplates = manifests.filter((m) => m.kind === 'WorkflowTemplate');

function templateMetrics(): Emitted[] {
  const out: Emitted[] = [];
  for (const wt of workflowTemplates) {
    const spec = wt.spec as { metrics?: { prometheus: ArgoMetric[] }; templates: Template[] };
    for (const metric of spec.metrics?.prometheus ?? [])
      out.push({ exposed: ARGO_PREFIX + metric.name, metric, where: `${wt.metadata.name} (workflow)` });
    for (const t of spec.templates)
      for (const metric of t.metrics?.prometheus ?? [])
        out.push({ exposed: ARGO_PREFIX + metric.name, metric, where: `${wt.metadata.name} ${t.name}`, template: t });
  }
  return out;
}

const emitted = templateMetrics();
const typeOf = (m: ArgoMetric) => (m.counter ? 'counter' : m.gauge ? 'gauge' : m.histogram ? 'histogram' : '?');
const refs = (text: string) => [...text.matchAll(/\{\{\s*outputs\.parameters\.([\w-]+)\s*\}\}/g)].map((m) => m[1]!);

describe('template metrics (Argo emits them when a step or run completes)', () => {
  test("the issue's metrics are there: archived workflows and bytes, failures, audit write failures, lag, holds, problems", () => {
    const names = new Set(emitted.map((e) => e.metric.name));
    for (const want of [
      'strata_archived_workflows_total',
      'strata_archived_bytes_total',
      'strata_archive_failed_workflows_total',
      'strata_run_failures_total',
      'strata_audit_write_failures_total',
      'strata_sweep_oldest_unarchived_age_seconds',
      'strata_holds_active',
      'strata_verify_problems',
      'strata_scrub_coverage_ratio',
    ])
      expect(names, want).toContain(want);
  });

  test.each(emitted.map((e) => [`${e.where}: ${e.metric.name}`, e] as const))('%s is well formed', (_n, e) => {
    const m = e.metric;
    // Argo v4 accepts letters, digits and _ only in custom metric names.
    expect(m.name).toMatch(/^strata_[a-z0-9_]+$/);
    expect(m.help.length).toBeGreaterThan(10);
    expect(['counter', 'gauge']).toContain(typeOf(m));
    // Prometheus convention, and what Argo's OpenTelemetry exporter turns a counter into either way.
    if (m.counter) expect(m.name).toMatch(/_total$/);
    else expect(m.name).not.toMatch(/_total$/);
    if (m.gauge) expect(m.gauge.realtime).toBe(false);
    for (const l of m.labels ?? []) expect(l.key).toMatch(/^[a-z_]+$/);
  });

  test('one name, one help, one type and one set of label keys everywhere (Argo refuses a second help)', () => {
    const first = new Map<string, Emitted>();
    for (const e of emitted) {
      const seen = first.get(e.metric.name);
      if (!seen) {
        first.set(e.metric.name, e);
        continue;
      }
      expect(e.metric.help, `${e.where} vs ${seen.where}`).toBe(seen.metric.help);
      expect(typeOf(e.metric)).toBe(typeOf(seen.metric));
      expect((e.metric.labels ?? []).map((l) => l.key)).toEqual((seen.metric.labels ?? []).map((l) => l.key));
    }
  });

  test('every value comes from an output parameter of its own step, written by the step into /tmp/outputs', () => {
    for (const e of emitted.filter((x) => x.template)) {
      const params = new Map((e.template!.outputs?.parameters ?? []).map((p) => [p.name, p]));
      const value = (e.metric.counter ?? e.metric.gauge)!.value;
      const used = [...refs(value), ...refs(e.metric.when ?? '')];
      expect(used.length, `${e.where} ${e.metric.name}`).toBeGreaterThan(0);
      for (const name of used) {
        const p = params.get(name);
        expect(p, `${e.where}: {{outputs.parameters.${name}}} is not an output parameter`).toBeDefined();
        expect(p!.valueFrom?.path).toMatch(/^\/tmp\/outputs\/[A-Za-z]+$/);
        expect(e.template!.container?.args?.join(' ')).toMatch(/--outputs-dir=\/tmp\/outputs/);
        // A counter may read a missing file as 0; a gauge must not be reset by a step that did not run far enough.
        if (e.metric.gauge && p!.valueFrom?.default === '')
          expect(e.metric.when, `${e.where} ${e.metric.name}`).toBe(`'{{outputs.parameters.${name}}}' != ''`);
        if (e.metric.counter) expect(p!.valueFrom?.default).toBe('0');
      }
    }
  });

  test('every step of the scheduled pipelines that writes audit records counts the ones it could not write', () => {
    const auditing = /^(archive|verify|finalize|audit|tier|gc|drill|restore)\b/;
    const scheduled = ['strata-archive', 'strata-verify', 'strata-tiering'];
    for (const wt of workflowTemplates.filter((m) => scheduled.includes(m.metadata.name))) {
      for (const t of (wt.spec as { templates: Template[] }).templates) {
        const args = t.container?.args ?? [];
        if (!auditing.test(args.join(' '))) continue;
        const where = `${wt.metadata.name} ${t.name}`;
        const param = t.outputs?.parameters?.find((p) => p.name === 'audit-write-failures');
        expect(param?.valueFrom?.path, where).toBe(`/tmp/outputs/${AUDIT_WRITE_FAILURES_OUTPUT}`);
        expect(
          t.metrics?.prometheus.some((m) => m.name === 'strata_audit_write_failures_total'),
          where,
        ).toBe(true);
      }
    }
  });

  test('each pipeline counts its failed runs and stamps its last success', () => {
    for (const name of ['strata-archive', 'strata-verify', 'strata-tiering']) {
      const wt = workflowTemplates.find((m) => m.metadata.name === name)!;
      const run = (wt.spec as { metrics?: { prometheus: ArgoMetric[] } }).metrics?.prometheus ?? [];
      expect(run.map((m) => m.name).sort(), name).toEqual([
        'strata_last_success_timestamp_seconds',
        'strata_run_failures_total',
      ]);
      for (const m of run) expect(m.labels).toEqual([{ key: 'workflowtemplate', value: name }]);
    }
  });
});

/**
 * Everything Prometheus can scrape from Strata — the template metrics (via Argo) and `strata watch`'s endpoint — with
 * the values each label takes.
 */
function exposedMetrics(): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const e of emitted) {
    const labels = out.get(e.exposed) ?? new Map<string, Set<string>>();
    for (const l of e.metric.labels ?? []) labels.set(l.key, (labels.get(l.key) ?? new Set()).add(l.value));
    out.set(e.exposed, labels);
  }
  // Read from the exposition itself, so a name changed in lib/metrics is seen here.
  const text = renderMetrics(watchMetrics(() => undefined));
  for (const m of text.matchAll(/^# TYPE (\S+) /gm)) out.set(m[1]!, new Map());
  return out;
}

const rules = manifests
  .filter((m) => m.kind === 'PrometheusRule')
  .flatMap((m: Manifest) =>
    (m.spec as { groups: { name: string; rules: { alert?: string; expr: string }[] }[] }).groups.flatMap((g) =>
      g.rules.map((r) => ({ ...r, where: `${m.file} ${g.name}/${r.alert}` })),
    ),
  );

describe('alerts (templates/components/alerts)', () => {
  test("the issue's alerts are shipped: corruption, audit write failure, sweep falling behind, scrub coverage", () => {
    const alerts = rules.map((r) => r.alert);
    for (const want of [
      'StrataCorruptionFound',
      'StrataAuditWriteFailed',
      'StrataSweepFallingBehind',
      'StrataScrubCoverageBelowTarget',
    ])
      expect(alerts).toContain(want);
  });

  test.each(rules.map((r) => [r.where, r] as const))('%s reads only metrics and labels Strata emits', (_w, r) => {
    const exposed = exposedMetrics();
    const reads = promqlReads(r.expr);
    expect(reads.selectors.length).toBeGreaterThan(0);
    const labels = new Set<string>();
    for (const s of reads.selectors) {
      expect([...exposed.keys()], `${r.where}: ${s.metric}`).toContain(s.metric);
      const has = exposed.get(s.metric)!;
      for (const l of s.labels) expect([...has.keys()], `${r.where}: ${s.metric}{${l}}`).toContain(l);
      for (const [l, v] of Object.entries(s.equals))
        expect([...has.get(l)!], `${r.where}: ${s.metric}{${l}="${v}"}`).toContain(v);
      for (const l of has.keys()) labels.add(l);
    }
    for (const l of reads.grouping) expect([...labels], `${r.where}: by (${l})`).toContain(l);
  });

  test('the check can fail: an unknown metric, an unknown label and a grouping label are found', () => {
    expect(promqlReads('max by (run) (argo_workflows_strata_verify_problem{run="scrub"}) > 0')).toEqual({
      selectors: [{ metric: 'argo_workflows_strata_verify_problem', labels: ['run'], equals: { run: 'scrub' } }],
      grouping: ['run'],
    });
    expect(
      promqlReads('time() - min(strata_watch_oldest_due_timestamp_seconds offset 5m) > 2 * 3600 and on() vector(1)'),
    ).toEqual({
      selectors: [{ metric: 'strata_watch_oldest_due_timestamp_seconds', labels: [], equals: {} }],
      grouping: [],
    });
    expect(promqlReads('sum(increase(x_total{a="1",b=~"y|z"}[1h])) by (c)')).toEqual({
      selectors: [{ metric: 'x_total', labels: ['a', 'b'], equals: { a: '1' } }],
      grouping: ['c'],
    });
  });
});
