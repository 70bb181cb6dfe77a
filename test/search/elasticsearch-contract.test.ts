// The catalog behaviour suite against the Elasticsearch adapter on the loopback node (a fresh index prefix per catalog).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { openElasticsearchCatalog } from '../../lib/catalog/elasticsearch.ts';
import { describeCatalogContract } from '../catalog/contract.ts';
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
