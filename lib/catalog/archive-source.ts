// Adapts the archive engine (manifests in the object store) to the catalog's ManifestSource.
import {
  listManifests,
  openEntry,
  openRepository,
  readManifest,
  streamEntry,
  type Manifest,
  type Repository,
} from '../archive/index.ts';
import type { ObjectStore } from '../store/store.ts';
import type { IndexableManifest, ManifestSource } from './rebuild.ts';

export async function archiveManifestSource(store: ObjectStore): Promise<ManifestSource> {
  return repositoryManifestSource(await openRepository(store));
}

export function repositoryManifestSource(repo: Repository): ManifestSource {
  // The indexer reads a manifest, then streams its logs: keep that one manifest rather than re-reading it per log.
  let last: { id: string; manifest: Manifest } | undefined;
  return {
    async *listManifestIds() {
      for await (const info of listManifests(repo)) yield info.id;
    },
    async readManifest(id) {
      const manifest = await readManifest(repo, id);
      last = { id, manifest };
      return indexable(id, manifest);
    },
    async openEntry(manifestId, path) {
      const entry = last?.id === manifestId ? last.manifest.entries.find((e) => e.path === path) : undefined;
      return entry ? streamEntry(repo, last!.manifest, entry) : openEntry(repo, manifestId, path);
    },
  };
}

export function indexable(id: string, m: Manifest): IndexableManifest {
  const w = m.workflow;
  return {
    id,
    uid: w.uid,
    namespace: w.namespace,
    name: w.name,
    ...(m.createdAt !== undefined && { createdAt: m.createdAt }),
    group: m.group,
    incomplete: m.incomplete,
    entries: m.entries.map((e) => ({
      path: e.path,
      kind: e.kind,
      ...(e.nodeId !== undefined && { nodeId: e.nodeId }),
      ...(e.container !== undefined && { container: e.container }),
      ...(e.artifactName !== undefined && { artifactName: e.artifactName }),
      size: e.size,
      sha256: e.sha256,
    })),
    summary: {
      ...(w.phase !== undefined && { phase: w.phase }),
      ...(w.startedAt !== undefined && { startedAt: w.startedAt }),
      ...(w.finishedAt !== undefined && { finishedAt: w.finishedAt }),
      labels: w.labels ?? {},
    },
  };
}
