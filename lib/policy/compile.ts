// Validates policy documents against the schema, compiles their CEL, and merges them into one ordered policy set.
import type { z } from 'zod';
import { compileMatch, type CelCompileError, type CompiledMatch } from './cel-env.ts';
import { readPolicySource, type PolicyProblem, type RawPolicyDocument, type SourceLocation } from './configmap.ts';
import { parseDuration, parseRetention, ZERO_DURATION, type PolicyDuration, type Retention } from './duration.ts';
import type { Tier } from './facts.ts';
import { policyDocumentSchema, type DefaultsSpec, type TimelineSpec } from './schema.ts';

export interface TimelineStage {
  tier: Tier;
  /** How long the archive stays in this tier; undefined for the last stage (stays until deletion). */
  stay?: PolicyDuration;
}

/** What a rule (or the defaults) says should happen, with every inheritable field filled in. */
export interface RetentionAction {
  archiveAfter: PolicyDuration;
  immediate: boolean;
  timeline: TimelineStage[];
  retainFor: Retention;
  deleteSource: boolean;
  destination?: string;
}

export interface CompiledRule extends RetentionAction {
  name: string;
  description?: string;
  priority: number;
  /** Position in the merged set (source order, then document order): breaks priority ties. */
  order: number;
  matchText: string;
  match: CompiledMatch;
  complianceClass?: string;
  /** Fields the rule set itself rather than inherited from the defaults. */
  explicit: ReadonlySet<keyof RetentionAction>;
  location: SourceLocation;
  matchLocation: SourceLocation;
}

export interface PolicySet {
  rules: CompiledRule[];
  defaults: RetentionAction;
  /** Where the defaults came from; undefined means the built-in "keep everything" default. */
  defaultsLocation?: SourceLocation;
  /** False when any source has an error: decisions over an invalid set keep everything. */
  valid: boolean;
  problems: PolicyProblem[];
}

/** With no configured defaults, nothing is ever deleted or tiered: keep indefinitely in the hot tier. */
export const BUILTIN_DEFAULTS: RetentionAction = {
  archiveAfter: ZERO_DURATION,
  immediate: false,
  timeline: [{ tier: 'hot' }],
  retainFor: 'indefinite',
  deleteSource: false,
};

export function parseTimeline(spec: TimelineSpec | undefined): TimelineStage[] | undefined {
  if (!spec) return undefined;
  const stages: TimelineStage[] = [];
  for (const tier of ['hot', 'warm', 'cold'] as const) {
    const text = spec[tier];
    if (text !== undefined) stages.push({ tier, stay: text === 'rest' ? undefined : parseDuration(text) });
  }
  if (spec.deepArchive) stages.push({ tier: 'deepArchive' });
  if (stages.length === 0) return [{ tier: 'hot' }];
  // The last stage lasts until deletion whatever its stated stay.
  const last = stages[stages.length - 1]!;
  stages[stages.length - 1] = { tier: last.tier };
  return stages;
}

function actionFields(
  spec: DefaultsSpec,
  base: RetentionAction,
): { action: RetentionAction; explicit: Set<keyof RetentionAction> } {
  const explicit = new Set<keyof RetentionAction>();
  const action: RetentionAction = { ...base };
  const set = <K extends keyof RetentionAction>(field: K, value: RetentionAction[K] | undefined) => {
    if (value === undefined) return;
    action[field] = value;
    explicit.add(field);
  };
  set('archiveAfter', spec.archiveAfter === undefined ? undefined : parseDuration(spec.archiveAfter));
  set('immediate', spec.immediate);
  set('timeline', parseTimeline(spec.timeline));
  set('retainFor', spec.retainFor === undefined ? undefined : parseRetention(spec.retainFor));
  set('deleteSource', spec.deleteSource);
  set('destination', spec.destination);
  return { action, explicit };
}

function schemaProblems(doc: RawPolicyDocument, issues: z.core.$ZodIssue[]): PolicyProblem[] {
  const value = doc.value as { spec?: { rules?: { name?: unknown }[] } };
  return issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const ruleIndex = path[0] === 'spec' && path[1] === 'rules' && typeof path[2] === 'number' ? path[2] : undefined;
    const ruleName = ruleIndex !== undefined ? value.spec?.rules?.[ruleIndex]?.name : undefined;
    const field = path.join('.') || '(document)';
    return {
      severity: 'error' as const,
      ...doc.locate(path),
      ...(typeof ruleName === 'string' ? { rule: ruleName } : {}),
      message: `${field}: ${issue.message}`,
    };
  });
}

function matchProblem(doc: RawPolicyDocument, index: number, rule: string, error: CelCompileError): PolicyProblem {
  return {
    severity: 'error',
    ...doc.locateInString(['spec', 'rules', index, 'match'], error.offset),
    rule,
    message: `match: ${error.message}`,
  };
}

/**
 * Parses, validates and compiles policy sources (ConfigMap YAML or plain policy YAML) into one set.
 * Sources merge in the order given; rules keep their document order. Any error makes the set invalid.
 */
export function loadPolicySet(sources: readonly { name: string; text: string }[]): {
  policySet: PolicySet;
  problems: PolicyProblem[];
} {
  const problems: PolicyProblem[] = [];
  const rules: CompiledRule[] = [];
  let defaults = BUILTIN_DEFAULTS;
  let defaultsLocation: SourceLocation | undefined;
  const seen = new Map<string, SourceLocation>();
  const documents: RawPolicyDocument[] = [];
  for (const source of sources) {
    const read = readPolicySource(source.name, source.text);
    problems.push(...read.problems);
    documents.push(...read.documents);
  }
  for (const doc of documents) {
    const parsed = policyDocumentSchema.safeParse(doc.value);
    if (!parsed.success) {
      problems.push(...schemaProblems(doc, parsed.error.issues));
      // Still check the CEL of every rule, so one run reports every error.
      const raw = (doc.value as { spec?: { rules?: unknown } }).spec?.rules;
      if (Array.isArray(raw)) {
        raw.forEach((r: { name?: unknown; match?: unknown }, i) => {
          if (typeof r?.match !== 'string') return;
          const compiled = compileMatch(r.match);
          if ('error' in compiled)
            problems.push(matchProblem(doc, i, typeof r.name === 'string' ? r.name : `#${i}`, compiled.error));
        });
      }
      continue;
    }
    const spec = parsed.data.spec;
    if (spec.defaults) {
      if (defaultsLocation) {
        problems.push({
          severity: 'error',
          ...doc.locate(['spec', 'defaults']),
          message: `defaults are already set at ${describeLocation(defaultsLocation)}; only one document may set them`,
        });
      } else {
        defaults = actionFields(spec.defaults, BUILTIN_DEFAULTS).action;
        defaultsLocation = doc.locate(['spec', 'defaults']);
      }
    }
    spec.rules.forEach((r, i) => {
      const location = doc.locate(['spec', 'rules', i]);
      const prior = seen.get(r.name);
      if (prior) {
        problems.push({
          severity: 'error',
          ...location,
          rule: r.name,
          message: `duplicate rule name (first defined at ${describeLocation(prior)})`,
        });
        return;
      }
      seen.set(r.name, location);
      const compiled = compileMatch(r.match);
      if ('error' in compiled) {
        problems.push(matchProblem(doc, i, r.name, compiled.error));
        return;
      }
      rules.push({
        name: r.name,
        description: r.description,
        priority: r.priority ?? 0,
        order: rules.length,
        matchText: r.match,
        match: compiled.match,
        complianceClass: r.complianceClass,
        location,
        matchLocation: doc.locate(['spec', 'rules', i, 'match']),
        // Inherit unset fields from the defaults; resolved after all documents are read (see below).
        ...actionFields(r, BUILTIN_DEFAULTS).action,
        explicit: actionFields(r, BUILTIN_DEFAULTS).explicit,
        _spec: r,
      } as CompiledRule & { _spec: DefaultsSpec });
    });
  }
  // Second pass: rules inherit from the defaults wherever those were declared.
  const inherited = rules.map((rule) => {
    const { _spec, ...rest } = rule as CompiledRule & { _spec: DefaultsSpec };
    return { ...rest, ...actionFields(_spec, defaults).action };
  });
  const valid = !problems.some((p) => p.severity === 'error');
  return { policySet: { rules: inherited, defaults, defaultsLocation, valid, problems }, problems };
}

/** `file:line:col (configmap/ns/name key k)`: what editors and CI annotate. */
export function describeLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`;
  if (loc.configMap) s += ` (${loc.configMap}${loc.key ? ` key ${loc.key}` : ''})`;
  else if (loc.key) s += ` (key ${loc.key})`;
  return s;
}

/** One line per problem: `file:line:col (configmap key): error: rule "r": message`. */
export function formatProblem(p: PolicyProblem): string {
  return `${describeLocation(p)}: ${p.severity}: ${p.rule ? `rule "${p.rule}": ` : ''}${p.message}`;
}
