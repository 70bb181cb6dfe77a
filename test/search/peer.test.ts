// The loopback Elasticsearch node answers the project's client (8.19, through its compatibility headers).
import { Client } from '@elastic/elasticsearch';
import { describe, expect, inject, it } from 'vitest';
import { searchPeerOrSkip } from '../support/search-peer.ts';

const peer = searchPeerOrSkip(inject('searchPeer'));

describe.skipIf(peer.skip)(`search peer${peer.skip ? ` (skipped: ${peer.skip})` : ''}`, () => {
  it('is Elasticsearch 7.17 and indexes and finds a document with the 8.19 client', async () => {
    const client = new Client({ node: peer.endpoint! });
    try {
      const info = await client.info();
      expect(info.version.number).toMatch(/^7\.17\./);
      const index = `strata-peer-${process.pid}`;
      await client.index({ index, document: { text: 'connection refused by upstream' }, refresh: true });
      const found = await client.search({ index, query: { match_phrase: { text: 'connection refused' } } });
      expect(found.hits.hits).toHaveLength(1);
      await client.indices.delete({ index });
    } finally {
      await client.close();
    }
  });
});
