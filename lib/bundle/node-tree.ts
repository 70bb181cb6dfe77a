// The node tree of an archived workflow, from its Workflow object's status.nodes and its log entries (the catalog's
// or the manifest's).

/** What the tree needs of an entry: catalog rows and manifest entries both have it. */
export interface LogEntryRef {
  kind: string;
  path: string;
  nodeId?: string;
  container?: string;
  size?: number;
}

export interface NodeView {
  id: string;
  name?: string;
  displayName?: string;
  type?: string;
  phase?: string;
  templateName?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  children: string[];
  logs: Array<{ container: string; path: string; size?: number }>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function nodeTree(object: Record<string, unknown> | undefined, entries: readonly LogEntryRef[]): NodeView[] {
  const status = object?.status as { nodes?: unknown } | undefined;
  const raw = status?.nodes && typeof status.nodes === 'object' ? (status.nodes as Record<string, unknown>) : {};
  const logsOf = new Map<string, NodeView['logs']>();
  for (const e of entries) {
    if (e.kind !== 'log' || e.nodeId === undefined) continue;
    const list = logsOf.get(e.nodeId) ?? [];
    list.push({ container: e.container ?? 'main', path: e.path, ...(e.size !== undefined && { size: e.size }) });
    logsOf.set(e.nodeId, list);
  }
  const ids = new Set([...Object.keys(raw), ...logsOf.keys()]);
  return [...ids].sort().map((id) => {
    const n = (raw[id] ?? {}) as Record<string, unknown>;
    const fields = {
      name: str(n.name),
      displayName: str(n.displayName),
      type: str(n.type),
      phase: str(n.phase),
      templateName: str(n.templateName),
      startedAt: str(n.startedAt),
      finishedAt: str(n.finishedAt),
      message: str(n.message),
    };
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    return {
      id,
      ...defined,
      children: Array.isArray(n.children) ? n.children.filter((c): c is string => typeof c === 'string') : [],
      logs: logsOf.get(id) ?? [],
    };
  });
}
