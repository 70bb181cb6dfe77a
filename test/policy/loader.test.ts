// Loading policy sources: ConfigMaps (labelled, several, merged), plain documents, and problems with file:line:col.
import { describe, expect, test } from 'vitest';
import { loadPolicySet, formatProblem } from '../../lib/policy/index.ts';
import { lintPolicySet } from '../../lib/policy/lint.ts';
import { policySourcesFromCluster } from '../../lib/policy/cluster-source.ts';
import { policyYaml } from './helpers.ts';

const configMap = (name: string, body: string, labelled = true) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: argo
${labelled ? '  labels:\n    strata.dev/policy: "true"\n' : ''}data:
  rules.yaml: |
${body
  .split('\n')
  .map((l) => (l ? `    ${l}` : l))
  .join('\n')}`;

describe('loadPolicySet', () => {
  test('merges several labelled ConfigMaps in order and ignores unlabelled ones with a warning', () => {
    const a = configMap('a', policyYaml([{ name: 'one', match: 'true', retainFor: '1d' }]));
    const b = configMap('b', policyYaml([{ name: 'two', match: 'false' }]));
    const c = configMap('c', policyYaml([{ name: 'three', match: 'true' }]), false);
    const { policySet, problems } = loadPolicySet([
      { name: 'a.yaml', text: a },
      { name: 'bc.yaml', text: `${b}\n---\n${c}` },
    ]);
    expect(policySet.valid).toBe(true);
    expect(policySet.rules.map((r) => [r.name, r.order])).toEqual([
      ['one', 0],
      ['two', 1],
    ]);
    expect(problems).toEqual([
      expect.objectContaining({ severity: 'warning', file: 'bc.yaml', configMap: 'configmap/argo/c' }),
    ]);
  });

  test('errors carry file, ConfigMap, key, rule, line and column of the offending text', () => {
    const body = policyYaml([
      { name: 'ok', match: 'true' },
      { name: 'typo', match: 'phase == "Failed" && lables["x"] == "y"' },
    ]);
    const text = configMap('bad', body);
    const { policySet, problems } = loadPolicySet([{ name: 'bad.yaml', text }]);
    expect(policySet.valid).toBe(false);
    const [p] = problems;
    expect(p).toMatchObject({
      severity: 'error',
      file: 'bad.yaml',
      configMap: 'configmap/argo/bad',
      key: 'rules.yaml',
      rule: 'typo',
    });
    const line = text.split('\n')[p!.line! - 1]!;
    expect(line.slice(p!.column! - 1)).toMatch(/^lables\["x"\]/);
    expect(formatProblem(p!)).toMatch(
      /^bad\.yaml:\d+:\d+ \(configmap\/argo\/bad key rules\.yaml\): error: rule "typo": match: Unknown variable: lables/,
    );
  });

  test('schema errors point at the field; CEL in the same invalid document is still checked', () => {
    const text = policyYaml([
      { name: 'a', match: 'true', retainFor: '30 days' },
      { name: 'b', match: 'nme == "x"' },
    ]);
    const { problems } = loadPolicySet([{ name: 'p.yaml', text }]);
    expect(problems.map((p) => p.rule)).toEqual(['a', 'b']);
    const lines = text.split('\n');
    expect(lines[problems[0]!.line! - 1]!.slice(problems[0]!.column! - 1)).toBe('30 days');
    expect(lines[problems[1]!.line! - 1]!.slice(problems[1]!.column! - 1)).toMatch(/^nme/);
  });

  test('duplicate rule names, two defaults blocks, YAML syntax errors and a compliance rule without retainFor are errors', () => {
    const dup = loadPolicySet([
      { name: 'x.yaml', text: policyYaml([{ name: 'a', match: 'true' }], { retainFor: '1d' }) },
      { name: 'y.yaml', text: policyYaml([{ name: 'a', match: 'true' }], { retainFor: '2d' }) },
      { name: 'z.yaml', text: 'apiVersion: [unclosed' },
      { name: 'w.yaml', text: policyYaml([{ name: 'fin', match: 'true', complianceClass: 'financial' }]) },
    ]);
    const messages = dup.problems.map(formatProblem);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^y\.yaml:.*duplicate rule name \(first defined at x\.yaml/),
        expect.stringMatching(/^y\.yaml:.*defaults are already set at x\.yaml/),
        expect.stringMatching(/^z\.yaml:1:\d+: error: YAML/),
        expect.stringMatching(/^w\.yaml:.*complianceClass must set retainFor/),
      ]),
    );
    expect(dup.policySet.valid).toBe(false);
  });

  test('lint finds unreachable and shadowed rules and conflicts', () => {
    const { policySet } = loadPolicySet([
      {
        name: 'l.yaml',
        text: policyYaml([
          { name: 'never', match: 'false' },
          { name: 'all', match: 'true', retainFor: '10d', priority: 5 },
          { name: 'shadowed', match: 'phase == "Failed"', retainFor: '20d' },
          { name: 'not-shadowed', match: 'phase == "Failed"', destination: 'eu' },
          { name: 'fin-a', match: 'ns == "a"', complianceClass: 'financial', retainFor: '7y' },
          { name: 'fin-b', match: 'ns == "b"', complianceClass: 'financial', retainFor: '5y' },
          { name: 'dest-a', match: 'ns == "c"', destination: 'x' },
          { name: 'dest-b', match: 'ns == "c"', destination: 'y' },
          { name: 'risky', match: 'labels["team"] == "x"', destination: 'z' },
          { name: 'guarded', match: '"team" in labels && labels["team"] == "x"', destination: 'z' },
        ]),
      },
    ]);
    const lint = lintPolicySet(policySet).map((p) => `${p.severity} ${p.rule}: ${p.message.split(':')[0]}`);
    expect(lint).toEqual([
      'warning never: match is always false',
      'warning shadowed: shadowed by rule "all" (l.yaml',
      'warning dest-b: shadowed by rule "dest-a" (l.yaml',
      'warning risky: labels["team"] is an error when the key is absent, and errors fail closed for every such workflow; use labels[?"team"].orValue("") or guard with "team" in labels',
      'error fin-b: conflict',
      'error dest-b: conflict with rule "dest-a"',
    ]);
  });

  test('--from-cluster: labelled ConfigMaps from every namespace, merged in namespace/name order', async () => {
    const calls: string[] = [];
    const lister = {
      listConfigMaps: async (ns: string, selector: string) => {
        calls.push(`${ns}?${selector}`);
        const cm = (name: string, rules: Record<string, unknown>[]) => ({
          metadata: { name, namespace: ns, labels: { 'strata.dev/policy': 'true' } },
          data: { 'p.yaml': policyYaml(rules), 'README.md': 'not a policy' },
        });
        return ns === 'argo'
          ? [cm('z', [{ name: 'z-rule', match: 'true' }]), cm('a', [{ name: 'a-rule', match: 'bad ==' }])]
          : [cm('m', [{ name: 'm-rule', match: 'true' }])];
      },
    };
    const sources = await policySourcesFromCluster(lister, ['teams', 'argo']);
    expect(calls).toEqual(['teams?strata.dev/policy=true', 'argo?strata.dev/policy=true']);
    expect(sources.map((s) => s.name)).toEqual([
      'cluster:configmap/argo/a',
      'cluster:configmap/argo/z',
      'cluster:configmap/teams/m',
    ]);
    const { policySet, problems } = loadPolicySet(sources);
    expect(policySet.rules.map((r) => r.name)).toEqual(['z-rule', 'm-rule']);
    expect(problems).toEqual([
      expect.objectContaining({ configMap: 'configmap/argo/a', key: 'p.yaml', rule: 'a-rule', severity: 'error' }),
    ]);
  });

  test('lint warns when a timeline leaves a tier before its minimum storage duration; "rest" only ends a timeline', () => {
    const { policySet } = loadPolicySet([
      {
        name: 't.yaml',
        text: policyYaml([
          { name: 'short', match: 'true', timeline: { hot: '7d', warm: '10d', deepArchive: true }, retainFor: '90d' },
          { name: 'fine', match: 'true', timeline: { hot: '7d', warm: '30d', cold: 'rest' }, retainFor: '180d' },
        ]),
      },
    ]);
    expect(lintPolicySet(policySet).filter((p) => /minimum storage/.test(p.message))).toEqual([
      expect.objectContaining({
        rule: 'short',
        message: expect.stringMatching(/warm for 10d \(minimum 30d\), deepArchive for 73d \(minimum 180d\)$/),
      }),
    ]);
    const bad = loadPolicySet([
      { name: 'r.yaml', text: policyYaml([{ name: 'r', match: 'true', timeline: { hot: 'rest', warm: '30d' } }]) },
    ]);
    expect(bad.problems.map((p) => p.message)).toEqual([expect.stringMatching(/"rest" is only for the last stage/)]);
  });
});
