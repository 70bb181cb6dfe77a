// An in-memory ManifestSource for catalog tests: manifests and entry bytes held in maps, failures injectable.
import { Readable } from 'node:stream';
import { stringify } from 'yaml';
import { NotFoundError } from '../../lib/errors.ts';
import type { IndexableManifest, ManifestSource } from '../../lib/catalog/rebuild.ts';

export interface FakeWorkflow {
  id: string;
  uid: string;
  name: string;
  namespace?: string;
  phase?: string;
  /** Defaults to finishedAt. */
  startedAt?: string;
  finishedAt?: string;
  /** When the manifest was written (the catalog's archivedAt). */
  createdAt?: string;
  group?: string;
  incomplete?: boolean;
  labels?: Record<string, string>;
  /** Log text (or raw bytes) per node id (path logs/<node>/main.log). */
  logs?: Record<string, string | Uint8Array>;
}

export class FakeSource implements ManifestSource {
  readonly manifests = new Map<string, IndexableManifest>();
  readonly files = new Map<string, string | Uint8Array>();
  /** Throws after this many bytes of the named entry were streamed (simulates a crash mid-index). */
  failAfter?: { path: string; bytes: number };

  add(w: FakeWorkflow): this {
    const namespace = w.namespace ?? 'agents';
    const workflow = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: w.name, namespace, uid: w.uid, labels: w.labels ?? {} },
      status: { phase: w.phase ?? 'Succeeded', startedAt: w.startedAt ?? w.finishedAt, finishedAt: w.finishedAt },
    };
    const entries: IndexableManifest['entries'] = [{ path: 'workflow.yaml', kind: 'workflow' }];
    this.files.set(`${w.id}/workflow.yaml`, stringify(workflow));
    for (const [node, text] of Object.entries(w.logs ?? {})) {
      const path = `logs/${node}/main.log`;
      entries.push({ path, kind: 'log', nodeId: node, container: 'main', size: Buffer.from(text).length });
      this.files.set(`${w.id}/${path}`, text);
    }
    this.manifests.set(w.id, {
      id: w.id,
      uid: w.uid,
      namespace,
      name: w.name,
      ...(w.createdAt !== undefined && { createdAt: w.createdAt }),
      ...(w.group !== undefined && { group: w.group }),
      incomplete: w.incomplete ?? false,
      entries,
    });
    return this;
  }

  async *listManifestIds(): AsyncIterable<string> {
    yield* [...this.manifests.keys()].sort();
  }

  async readManifest(id: string): Promise<IndexableManifest> {
    const m = this.manifests.get(id);
    if (!m) throw new NotFoundError(`no manifest ${id}`);
    return m;
  }

  async openEntry(manifestId: string, path: string): Promise<Readable> {
    const text = this.files.get(`${manifestId}/${path}`);
    if (text === undefined) throw new NotFoundError(`no entry ${path}`, { key: manifestId });
    const bytes = Buffer.from(text);
    const fail = this.failAfter?.path === path ? this.failAfter.bytes : undefined;
    // Small chunks so segmenting really works across chunk boundaries.
    return Readable.from(
      (async function* () {
        for (let i = 0; i < bytes.length; i += 4096) {
          if (fail !== undefined && i >= fail) throw new Error('simulated crash while reading');
          yield bytes.subarray(i, i + 4096);
        }
      })(),
    );
  }
}
