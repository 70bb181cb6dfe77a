// CLI and entry point of the corpus generator: `tsx hack/corpus/generate.ts --out DIR --workflows N --seed S [--size 200MB] [--profile play|pods]`.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CORPUS_PROFILES, generateCorpus, type CorpusProfile } from './corpus.ts';

export {
  CORPUS_PROFILES,
  generateCorpus,
  type CorpusOptions,
  type CorpusProfile,
  type CorpusSummary,
  type CorpusWorkflow,
} from './corpus.ts';

/** `200MB`, `1.5GiB`, `4096` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|k|m|g|t)(i?b?)?$/i.exec(text.trim());
  if (!m) throw new Error(`size "${text}" is not a size like 200MB or 1GiB`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf(m[2]!.toLowerCase());
  const base = m[3]?.toLowerCase().startsWith('i') ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      workflows: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      size: { type: 'string' },
      profile: { type: 'string', default: 'play' },
    },
  });
  if (!values.out) {
    process.stderr.write(
      'usage: tsx hack/corpus/generate.ts --out DIR [--workflows N] [--seed S] [--size 200MB] [--profile play|pods]\n',
    );
    process.exit(2);
  }
  const workflows = Number(values.workflows);
  if (!Number.isInteger(workflows) || workflows < 1) {
    process.stderr.write(`--workflows must be a positive integer, got "${values.workflows}"\n`);
    process.exit(2);
  }
  const profile = values.profile as CorpusProfile;
  if (!CORPUS_PROFILES.includes(profile)) {
    process.stderr.write(`--profile must be one of ${CORPUS_PROFILES.join(', ')}, got "${values.profile}"\n`);
    process.exit(2);
  }
  const started = Date.now();
  const summary = await generateCorpus({
    dir: values.out,
    workflows,
    seed: values.seed!,
    profile,
    targetBytes: values.size ? parseSize(values.size) : undefined,
    onWorkflow: (done, total, bytes) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} workflows, ${(bytes / 1e6).toFixed(1)} MB`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `${summary.workflows.length} workflows, ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB in ${values.out} ` +
      `(${seconds.toFixed(1)} s, ${(summary.bytes / 1e6 / seconds).toFixed(1)} MB/s)\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main().catch((err: unknown) => {
    process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
