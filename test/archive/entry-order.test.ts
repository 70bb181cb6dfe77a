// Entries of a batch are packed alike ones together, in an order that depends only on the input.
import { describe, expect, test } from 'vitest';
import { similarityKey, similarityOrder } from '../../lib/archive/entry-order.ts';
import { bundleOf } from './fixtures.ts';

const workflowWith = (nodes: Record<string, string>) => ({
  status: {
    nodes: Object.fromEntries(
      Object.entries(nodes).map(([id, template]) => [id, { templateName: template, templateScope: 'namespaced/ci' }]),
    ),
  },
});

function bundle(uid: string, nodes: Record<string, string>) {
  const b = bundleOf(
    uid,
    Object.keys(nodes).map((id) => ({
      path: `logs/${id}/main.log`,
      nodeId: id,
      container: 'main',
      data: Buffer.from(id),
    })),
    workflowWith(nodes),
  );
  return { workflow: b.workflow, entries: b.entries };
}

describe('similarityOrder', () => {
  test('puts the logs of one template from different workflows next to each other', () => {
    const bundles = [
      bundle('a', { 'a-1': 'checkout', 'a-2': 'build', 'a-3': 'test' }),
      bundle('b', { 'b-1': 'checkout', 'b-2': 'build', 'b-3': 'test' }),
      bundle('c', { 'c-1': 'checkout', 'c-2': 'test' }),
    ];
    const order = similarityOrder(bundles).map(([b, e]) => bundles[b]!.entries[e]!.path);
    expect(order).toEqual([
      'logs/a-2/main.log',
      'logs/b-2/main.log',
      'logs/a-1/main.log',
      'logs/b-1/main.log',
      'logs/c-1/main.log',
      'logs/a-3/main.log',
      'logs/b-3/main.log',
      'logs/c-2/main.log',
    ]);
  });

  test('keeps workflow order, then entry order, among alike entries; entries without a node group by file name', () => {
    const plain = [
      bundleOf('x', [
        { path: 'r/x/claude.log', data: Buffer.from('1') },
        { path: 'r/x/a.txt', data: Buffer.from('2') },
      ]),
      bundleOf('y', [{ path: 'r/y/claude.log', data: Buffer.from('3') }]),
    ];
    const order = similarityOrder(plain).map(([b, e]) => plain[b]!.entries[e]!.path);
    expect(order).toEqual(['r/x/a.txt', 'r/x/claude.log', 'r/y/claude.log']);
  });

  test('the key names kind, template scope, template, container and artifact, not the workflow', () => {
    const a = bundle('a', { 'a-1': 'checkout' });
    const b = bundle('b', { 'b-9': 'checkout' });
    expect(similarityKey(a.workflow, a.entries[0]!)).toBe(similarityKey(b.workflow, b.entries[0]!));
    expect(similarityKey(a.workflow, a.entries[0]!)).toContain('namespaced/ci');
  });
});
