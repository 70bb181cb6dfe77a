// Workflow files parsed during a directory scan, kept for load() so each file is parsed once.
import { parseWorkflowText, type ParseResult } from './argo-workflow.ts';
import { readText } from './file-reader.ts';

/** Parsed workflow files kept from the scan for load(), up to this much source text (beyond it load re-parses). */
const PARSE_CACHE_BYTES = 64 << 20;

export class ParseCache {
  private last?: { file: string; result: ParseResult };
  private readonly kept = new Map<string, ParseResult>();
  private keptBytes = 0;

  /** `onFile` is called for each file parsed (progress). */
  constructor(private readonly onFile?: (file: string) => void) {}

  /** Parses a file (the last file parsed is not parsed again); `keepForLoad` keeps the result for `forLoad`. */
  async parseFile(file: string, keepForLoad = false): Promise<ParseResult> {
    if (this.last?.file === file) return this.last.result;
    return this.parseText(file, await readText(file), keepForLoad);
  }

  parseText(file: string, text: string, keepForLoad: boolean): ParseResult {
    this.onFile?.(file);
    const result = parseWorkflowText(text, file);
    this.last = { file, result };
    if (keepForLoad && this.keptBytes + text.length <= PARSE_CACHE_BYTES) {
      this.kept.set(file, result);
      this.keptBytes += text.length;
    }
    return result;
  }

  /** The parse of a file a workflow is loaded from: the one kept from the scan, else a new one. */
  async forLoad(file: string): Promise<ParseResult> {
    const fromScan = this.kept.get(file);
    // A file's workflows are loaded once each; a single-workflow file's parse is no longer needed after this.
    if (fromScan && fromScan.workflows.length <= 1) this.kept.delete(file);
    return fromScan ?? (await this.parseFile(file));
  }
}
