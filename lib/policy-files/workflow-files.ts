// Workflows for explain/diff from files: Workflow YAML/JSON (documents or Lists), or archived manifests.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseObjectDocuments } from '../bundle/workflow-text.ts';
import { InputError } from '../errors.ts';
import { manifestInput, workflowInput, type WorkflowInput } from '../policy/inputs.ts';

function files(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('cannot read workflow input', { file: p });
    }
    if (st.isDirectory())
      out.push(
        ...files(
          readdirSync(p)
            .sort()
            .filter((e) => /\.(ya?ml|json)$/.test(e) || statSync(join(p, e)).isDirectory())
            .map((e) => join(p, e)),
        ),
      );
    else out.push(p);
  }
  return out;
}

function objectsIn(file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of parseObjectDocuments(readFileSync(file, 'utf8'), file)) {
    const v = doc as Record<string, unknown> | null;
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v.items)) out.push(...(v.items as Record<string, unknown>[]));
    else out.push(v);
  }
  return out;
}

/** Every object in the files (documents and List items), e.g. related resources for explain. */
export function readObjects(paths: readonly string[]): Record<string, unknown>[] {
  return files(paths).flatMap(objectsIn);
}

/** Workflow objects (kind Workflow) from files and directories; other kinds are skipped. */
export function readWorkflowFiles(paths: readonly string[]): WorkflowInput[] {
  const out: WorkflowInput[] = [];
  for (const file of files(paths)) {
    for (const obj of objectsIn(file)) {
      if (obj.kind !== undefined && obj.kind !== 'Workflow') continue;
      out.push(workflowInput(obj, file));
    }
  }
  return out;
}

/** Archived manifests (strata-manifest JSON files). */
export function readManifestFiles(paths: readonly string[]): WorkflowInput[] {
  return files(paths).flatMap((file) => objectsIn(file).map((m) => manifestInput(m, file)));
}
