// Property: whenever the js-yaml fast path reads a file, it reads exactly what the yaml library reads.
import { fc, test } from '@fast-check/vitest';
import jsyaml from 'js-yaml';
import { expect } from 'vitest';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { loadPlainYaml } from '../../lib/sources/yaml-fast.ts';

/** Plain scalars on which YAML 1.1, 1.2 and the two libraries' schemas disagree. */
const TRICKY = [
  '0o17',
  '0x1F',
  '0X1F',
  '017',
  '09',
  '1_000',
  '1e3',
  '1E+3',
  '.5',
  '+1',
  '-0',
  '+.5e-3',
  '12.',
  '0x',
  '0o8',
  '0b101',
  '.inf',
  '-.Inf',
  '+.INF',
  '.nan',
  '.NaN',
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'True',
  'FALSE',
  'tRUE',
  '2026-01-05T17:21:37Z',
  '2026-01-05',
  '1:30',
  '1:30:00',
  '12,3',
  '=',
  '<<',
  '-',
  '--',
  "'quoted'",
  '"dq\\u00e9\\x41\\t"',
  '|',
  '>-',
  'a #c',
  'a#b',
  'é',
  '"\\N\\_\\L"',
  "''",
  '""',
  '[]',
  '{}',
  '[a, 1, ~]',
];
const key = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.stringMatching(/^[a-zA-Z0-9._/-]{1,12}$/),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);

function viaYamlLibrary(text: string): { value: unknown; line: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) return undefined;
  const start = doc.contents?.range?.[0] ?? 0;
  return { value: doc.toJS({ maxAliasCount: 1000 }) as unknown, line: lineCounter.linePos(start).line };
}

function agrees(text: string): void {
  const fast = loadPlainYaml(text);
  if (!fast) return;
  expect(fast).toEqual(viaYamlLibrary(text));
}

test.prop([fc.array(fc.tuple(key, fc.constantFrom(...TRICKY)), { minLength: 1, maxLength: 8 }), fc.nat(3)])(
  'hand-written block maps with tricky plain keys and values',
  (pairs, indent) => {
    const pad = ' '.repeat(indent + 1);
    agrees(
      `# export\n---\nmetadata:\n${pairs.map(([k, v]) => `${pad}${k}: ${v}`).join('\n')}\nlist:\n${pairs.map(([, v]) => `${pad}- ${v}`).join('\n')}\n`,
    );
  },
);

const tree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 4 }),
  map: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
})).map;

test.prop([tree, fc.constantFrom(undefined, -1, 1, 2)])(
  'documents written by yaml and by js-yaml',
  (value, flowLevel) => {
    const text = flowLevel === undefined ? stringify(value) : jsyaml.dump(value, { flowLevel });
    agrees(text);
    agrees(`---\n${text}`);
  },
);

test('a plain Workflow document takes the fast path; anchors and aliases do not (the yaml library caps them)', () => {
  const text =
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n  labels: {}\nspec:\n  args: [a, "b"]\n';
  expect(loadPlainYaml(text)).toEqual(viaYamlLibrary(text));
  expect(loadPlainYaml(`${text}x: &a [1]\ny: *a\n`)).toBeUndefined();
});
