// Turns `strata query`/`search` flags (k=v labels, ISO or relative times) into a WorkflowQuery, with clear errors.
import { ConfigError } from '../errors.ts';
import { DURATION_EXAMPLES, parseDuration, subtractDuration } from '../policy/duration.ts';
import type { WorkflowQuery } from './catalog.ts';

export interface QueryFlags {
  label?: string[];
  namespace?: string;
  phase?: string;
  name?: string;
  incomplete?: boolean;
  since?: string;
  until?: string;
  text?: string;
  /** Take `text` as one literal phrase rather than query syntax. */
  literal?: boolean;
  limit?: number;
}

export function queryFromFlags(flags: QueryFlags, now = new Date()): WorkflowQuery {
  const query: WorkflowQuery = {};
  if (flags.label?.length) query.labels = parseLabels(flags.label);
  if (flags.namespace !== undefined) query.namespace = flags.namespace;
  if (flags.phase !== undefined) query.phase = flags.phase;
  if (flags.name !== undefined) query.name = flags.name;
  if (flags.incomplete !== undefined) query.incomplete = flags.incomplete;
  if (flags.since !== undefined) query.since = parseTime('since', flags.since, now);
  if (flags.until !== undefined) query.until = parseTime('until', flags.until, now);
  if (query.since && query.until && query.since >= query.until) {
    throw new ConfigError(
      `--since (${query.since.toISOString()}) must be before --until (${query.until.toISOString()})`,
    );
  }
  if (flags.text !== undefined) query.text = flags.literal ? literalPhrase(flags.text) : flags.text;
  if (flags.limit !== undefined) query.limit = flags.limit;
  return query;
}

/** A phrase matching `text` as written (quotes doubled), so `exit-code: 137 (` needs no query syntax. */
export function literalPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

export function parseLabels(selectors: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const s of selectors) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--label "${s}" must look like key=value`, { key: 'label' });
    const key = s.slice(0, eq);
    if (key in labels && labels[key] !== s.slice(eq + 1)) {
      throw new ConfigError(`--label ${key} is given twice with different values; no workflow can match both`, {
        key: 'label',
      });
    }
    labels[key] = s.slice(eq + 1);
  }
  return labels;
}

/** An ISO-8601 date/time, or a duration back from now in the one duration grammar: 30m, 12h, 7d, 2w, 1mo. */
export function parseTime(flag: string, value: string, now: Date): Date {
  const ago = parseDuration(value.trim());
  if (ago) return subtractDuration(now, ago);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `--${flag} "${value}" is neither an ISO date (2026-11-01, 2026-11-01T12:00:00Z) nor a duration (${DURATION_EXAMPLES})`,
      {
        key: flag,
      },
    );
  }
  return new Date(ms);
}
