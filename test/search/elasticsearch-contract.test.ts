// The catalog behaviour suite against the Elasticsearch adapter on the loopback node (a fresh index prefix per catalog).
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, inject } from 'vitest';
import { openElasticsearchCatalog } from '../../lib/catalog/elasticsearch.ts';
import { describeCatalogContract } from '../catalog/contract.ts';
import { describeRebuildOnOpen } from '../catalog/rebuild-on-open.ts';
import { searchPeerOrSkip } from '../support/search-peer.ts';

const peer = searchPeerOrSkip(inject('searchPeer'));

describeCatalogContract(
  'Elasticsearch',
  async () => {
    const catalog = await openElasticsearchCatalog({
      node: peer.endpoint!,
      prefix: `c-${randomBytes(5).toString('hex')}`,
      replicas: 0,
    });
    // The node outlives the test: each catalog takes its indices and templates with it.
    const close = catalog.close.bind(catalog);
    catalog.close = async () => {
      await catalog.client.indices.delete({ index: `${catalog.prefix}-*`, allow_no_indices: true });
      await catalog.client.indices.deleteIndexTemplate({ name: `${catalog.prefix}-*` });
      await close();
    };
    return catalog;
  },
  peer.skip === undefined ? {} : { skip: peer.skip },
);

const rebuildPrefixes: string[] = [];
describeRebuildOnOpen('Elasticsearch', {
  ...(peer.skip !== undefined && { skip: peer.skip }),
  location: () => {
    const prefix = `r-${randomBytes(5).toString('hex')}`;
    rebuildPrefixes.push(prefix);
    return `elasticsearch+${peer.endpoint!}/${prefix}?replicas=0`;
  },
  concurrentWriters: true,
  async makeOlder(location) {
    // A catalog written before its schema had a version: indices, no meta document.
    const client = new Client({ node: peer.endpoint! });
    try {
      await client.indices.delete({
        index: `${new URL(location.replace(/^elasticsearch\+/, '')).pathname.slice(1)}-meta`,
      });
    } finally {
      await client.close();
    }
  },
});
afterAll(async () => {
  if (!rebuildPrefixes.length) return;
  const client = new Client({ node: peer.endpoint! });
  try {
    for (const prefix of rebuildPrefixes.splice(0)) {
      await client.indices.delete({ index: `${prefix}-*`, allow_no_indices: true });
      await client.indices.deleteIndexTemplate({ name: `${prefix}-*` });
    }
  } finally {
    await client.close();
  }
});
