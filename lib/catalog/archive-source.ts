// Adapts the archive engine (manifests in the object store) to the catalog's ManifestSource.
import {
  listManifests,
  openEntry,
  openRepository,
  readManifest,
  type Manifest,
  type Repository,
} from '../archive/index.ts';
import type { ObjectStore } from '../store/store.ts';
import type { IndexableManifest, ManifestSource } from './rebuild.ts';

export async function archiveManifestSource(store: ObjectStore): Promise<ManifestSource> {
  return repositoryManifestSource(await openRepository(store));
}

export function repositoryManifestSource(repo: Repository): ManifestSource {
  return {
    async *listManifestIds() {
      for await (const info of listManifests(repo)) yield info.id;
    },
    async readManifest(id) {
      return indexable(id, await readManifest(repo, id));
    },
    openEntry: (manifestId, path) => openEntry(repo, manifestId, path),
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
