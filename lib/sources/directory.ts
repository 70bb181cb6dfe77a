// The directory export source: workflows with their logs, artifacts and related resources laid out on disk
// (layout in docs/directory-export.md).
import { resolve } from 'node:path';
import type { SourceProblem, WorkflowBundle, WorkflowIdentity, WorkflowSource } from '../bundle/bundle.ts';
import { InputError } from '../errors.ts';
import { buildBundle } from './export-layout.ts';
import { scanExport, type ExportScan } from './export-scan.ts';
import { ParseCache } from './parse-cache.ts';

export interface DirectorySourceOptions {
  /** Called for each file parsed during the scan (progress). */
  onFile?: (file: string) => void;
}

export function openDirectorySource(dir: string, options: DirectorySourceOptions = {}): WorkflowSource {
  return new DirectorySource(resolve(dir), options);
}

class DirectorySource implements WorkflowSource {
  readonly description: string;
  private scanned?: ExportScan;
  /** Parse results of the scan, so load() does not parse each workflow file a second time. */
  private readonly parses: ParseCache;

  constructor(
    private readonly dir: string,
    options: DirectorySourceOptions,
  ) {
    this.description = `dir:${dir}`;
    this.parses = new ParseCache(options.onFile);
  }

  async *list(): AsyncIterable<WorkflowIdentity | SourceProblem> {
    const scan = await this.scan();
    yield* scan.problems;
    for (const located of scan.byUid.values()) yield { ...located.identity };
  }

  async load(id: WorkflowIdentity): Promise<WorkflowBundle> {
    const scan = await this.scan();
    const located = scan.byUid.get(id.uid) ?? scan.byName.get(`${id.namespace}/${id.name}`);
    if (!located) {
      throw new InputError(`workflow ${id.namespace}/${id.name} (uid ${id.uid}) is not in ${this.description}`);
    }
    const result = await this.parses.forLoad(located.file);
    const parsed = result.workflows.find((w) => w.identity.uid === located.identity.uid);
    if (!parsed) throw new InputError('workflow changed on disk since the scan', { file: located.file });
    return buildBundle(located, parsed, scan.owners);
  }

  private async scan(): Promise<ExportScan> {
    this.scanned ??= await scanExport(this.dir, this.parses);
    return this.scanned;
  }
}
