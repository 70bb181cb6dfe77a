// Prometheus' text exposition format (version 0.0.4) for a handful of gauges and counters read at scrape time.

export interface Metric {
  /** `strata_<area>_<what>[_unit]`, Prometheus naming. */
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  /** Read at every scrape; undefined leaves the sample out (e.g. no oldest due time while nothing is pending). */
  value(): number | undefined;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One exposition of every metric: `# HELP`, `# TYPE`, then the sample (left out when it has no value). */
export function renderMetrics(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    if (!NAME.test(m.name)) throw new Error(`metric name ${JSON.stringify(m.name)} is not a Prometheus name`);
    lines.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${m.name} ${m.type}`);
    const v = m.value();
    if (v !== undefined) lines.push(`${m.name} ${formatValue(v)}`);
  }
  return lines.join('\n') + '\n';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
