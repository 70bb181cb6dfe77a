// Finds every workflow of a directory export once: top-level YAML/JSON files, then `<namespace>/<name>/workflow.*`.
import type { Dirent } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceProblem, WorkflowIdentity } from '../bundle/bundle.ts';
import { mapAhead } from '../concurrency.ts';
import { InputError, StrataError } from '../errors.ts';
import type { ParseResult } from './argo-workflow.ts';
import { ownersOf, WORKFLOW_EXT, WORKFLOW_FILES, type Located, type Owners } from './export-layout.ts';
import { notReadReason, readText } from './file-reader.ts';
import type { ParseCache } from './parse-cache.ts';
import { checkSegment, resolveInside } from './safe-path.ts';
import { sortedEntries } from './tree-walk.ts';

/** Workflow directories of a namespace resolved and read ahead of the one being parsed. */
const SCAN_READ_AHEAD = 8;

export interface ExportScan {
  byUid: Map<string, Located>;
  /** Keyed `namespace/name`. */
  byName: Map<string, Located>;
  problems: SourceProblem[];
  /** Which workflow each workflow file and data directory belongs to. */
  owners: Owners;
}

/** Every workflow of the export at `dir`, parsed through `cache`; what cannot be used is a problem, not a throw. */
export async function scanExport(dir: string, cache: ParseCache): Promise<ExportScan> {
  let realRoot: string;
  try {
    realRoot = await realpath(dir);
    if (!(await stat(realRoot)).isDirectory()) throw new Error('ENOTDIR');
  } catch (err) {
    throw new InputError(`export directory is not readable: ${(err as Error).message}`, { file: dir });
  }
  const byUid = new Map<string, Located>();
  const byName = new Map<string, Located>();
  const problems: SourceProblem[] = [];
  const add = (located: Located) => {
    const key = `${located.identity.namespace}/${located.identity.name}`;
    const previous = byUid.get(located.identity.uid) ?? byName.get(key);
    if (previous) {
      problems.push({
        where: located.file,
        message: `duplicate workflow ${key} (uid ${located.identity.uid}); keeping the one in ${previous.file}`,
      });
      return;
    }
    byUid.set(located.identity.uid, located);
    byName.set(key, located);
  };

  // Hidden entries (.git, .cache, editor files) are not workflows or namespaces.
  const top = (await sortedEntries(realRoot)).filter((e) => !e.name.startsWith('.'));
  const claimedDirs = new Set<string>();
  const namespaces: string[] = [];
  for (const entry of top) {
    const path = join(realRoot, entry.name);
    let real: string;
    try {
      real = await resolveInside(realRoot, entry.name);
    } catch (err) {
      problems.push(problemOf(err, path));
      continue;
    }
    const info = await stat(real);
    if (info.isDirectory()) {
      namespaces.push(entry.name);
      continue;
    }
    if (!WORKFLOW_EXT.test(entry.name)) continue;
    if (!info.isFile()) {
      problems.push({ where: real, message: notReadReason(info) });
      continue;
    }
    let result: ParseResult;
    try {
      result = await cache.parseFile(real, true);
    } catch (err) {
      problems.push(problemOf(err, real));
      continue;
    }
    for (const p of result.problems) problems.push(p);
    const ownFile = result.workflows.length === 1 && result.problems.length === 0;
    for (const w of result.workflows) {
      const located: Located = { identity: w.identity, root: realRoot, file: real, ownFile, notes: w.notes };
      try {
        const dataDir = await existingDataDir(realRoot, w.identity);
        if (dataDir) {
          located.dataDir = dataDir;
          claimedDirs.add(dataDir);
        }
      } catch (err) {
        problems.push(problemOf(err, join(realRoot, w.identity.namespace, w.identity.name)));
        continue; // its logs and artifacts would be read from outside the export: refuse the workflow
      }
      add(located);
    }
  }

  for (const ns of namespaces) {
    const entries = (await sortedEntries(join(realRoot, ns))).filter((e) => !e.name.startsWith('.'));
    // The next few workflow directories are resolved and their files read while this one is parsed.
    for await (const found of mapAhead(entries, SCAN_READ_AHEAD, (e) =>
      findWorkflowFile(realRoot, ns, e, claimedDirs),
    )) {
      if (found === undefined) continue;
      if ('problem' in found) {
        problems.push(found.problem);
        continue;
      }
      const { rel, name, wfDir, file } = found;
      let result: ParseResult;
      try {
        result = cache.parseText(file, await found.text, true);
      } catch (err) {
        problems.push(problemOf(err, file));
        continue;
      }
      for (const p of result.problems) problems.push(p);
      if (result.workflows.length > 1) {
        problems.push({
          where: file,
          message: `holds ${result.workflows.length} workflows; a workflow file holds one`,
        });
        continue;
      }
      const w = result.workflows[0];
      if (!w) continue;
      const notes = [...w.notes];
      if (w.identity.namespace !== ns || w.identity.name !== name) {
        notes.push(`directory ${rel} holds workflow ${w.identity.namespace}/${w.identity.name}`);
      }
      add({ identity: w.identity, root: realRoot, file, ownFile: true, dataDir: wfDir, notes });
    }
  }
  const unique = new Map(problems.map((p) => [`${p.where}\n${p.message}`, p]));
  return { byUid, byName, problems: [...unique.values()], owners: ownersOf(byUid.values()) };
}

type FoundWorkflowFile =
  { problem: SourceProblem } | { rel: string; name: string; wfDir: string; file: string; text: Promise<string> };

/**
 * `<ns>/<entry>/workflow.*` resolved inside the root and being read; undefined when the entry is not a directory
 * or is the data directory of a workflow from a top-level file (`claimed`).
 */
async function findWorkflowFile(
  realRoot: string,
  ns: string,
  entry: Dirent,
  claimed: ReadonlySet<string>,
): Promise<FoundWorkflowFile | undefined> {
  const rel = `${ns}/${entry.name}`;
  let wfDir: string;
  try {
    wfDir = await resolveInside(realRoot, rel);
  } catch (err) {
    return { problem: problemOf(err, join(realRoot, rel)) };
  }
  if (!(await stat(wfDir)).isDirectory()) return undefined;
  if (claimed.has(wfDir)) return undefined;
  const fileName = await firstExisting(wfDir, WORKFLOW_FILES);
  if (!fileName) {
    return { problem: { where: join(realRoot, rel), message: `no ${WORKFLOW_FILES.join('/')} in this directory` } };
  }
  let file: string;
  try {
    file = await resolveInside(realRoot, `${rel}/${fileName}`);
  } catch (err) {
    return { problem: problemOf(err, join(realRoot, rel, fileName)) };
  }
  const text = readText(file);
  text.catch(() => undefined); // a read error becomes a problem when the scan gets to this file
  return { rel, name: entry.name, wfDir, file, text };
}

function problemOf(err: unknown, fallback: string): SourceProblem {
  if (err instanceof StrataError) {
    const loc = err.location;
    const where = loc?.file ? [loc.file, loc.line, loc.column].filter((x) => x !== undefined).join(':') : fallback;
    return { where, message: err.message };
  }
  return { where: fallback, message: err instanceof Error ? err.message : String(err) };
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    try {
      await lstat(join(dir, name));
      return name;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

async function existingDataDir(realRoot: string, id: WorkflowIdentity): Promise<string | undefined> {
  // The parser refuses unsafe names; checked again here because they are joined into a path.
  checkSegment(id.namespace, 'namespace');
  checkSegment(id.name, 'workflow name');
  try {
    await lstat(join(realRoot, id.namespace, id.name));
  } catch {
    return undefined;
  }
  const real = await resolveInside(realRoot, `${id.namespace}/${id.name}`);
  return (await stat(real)).isDirectory() ? real : undefined;
}
