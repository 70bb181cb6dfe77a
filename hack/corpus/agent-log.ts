// Log lines of an agent run (Rex, Cleo, Tess in a CodeRun job): clone, install blocks, tool calls, tests, stack traces.
import { Random } from './random.ts';
import {
  ASSISTANT_PHRASES,
  BASH_COMMANDS,
  CRATES,
  NPM_PACKAGES,
  RUST_TYPES,
  SOURCE_DIRS,
  SOURCE_WORDS,
  TOOL_NAMES,
  TS_TYPES,
} from './vocabulary.ts';

export interface SessionContext {
  repo: { slug: string; lang: 'rust' | 'node'; service: string };
  agent: { app: string; stage: string; short: string };
  taskId: number;
  model: string;
  sessionId: string;
}

/** Per-line timestamps as `kubectl logs --timestamps` prints them (RFC 3339, nanoseconds). */
export class LogClock {
  private ms: number;
  constructor(
    start: Date,
    private readonly rng: Random,
  ) {
    this.ms = start.getTime();
  }
  /** Advances by a few milliseconds (occasionally seconds: a tool call or a build) and formats. */
  tick(): string {
    this.ms += this.rng.chance(0.02) ? this.rng.int(500, 20_000) : this.rng.int(0, 40);
    const iso = new Date(this.ms).toISOString();
    return `${iso.slice(0, 23)}${String(this.rng.int(0, 999_999)).padStart(6, '0')}Z`;
  }
  now(): Date {
    return new Date(this.ms);
  }
}

const camel = (a: string, b: string) => a + b[0]!.toUpperCase() + b.slice(1);

/** Source files of a repository: same repository → same files in every workflow (as in reality). */
export function sourceFiles(repo: SessionContext['repo']): string[] {
  const rng = new Random('files', repo.slug);
  const ext = repo.lang === 'rust' ? 'rs' : 'ts';
  const files: string[] = [];
  for (let i = 0; i < 40; i++)
    files.push(`${rng.pick(SOURCE_DIRS)}/${rng.pick(SOURCE_WORDS)}_${rng.pick(SOURCE_WORDS)}.${ext}`);
  return [...new Set(files)];
}

/** Lines of one source file, deterministic by repository and path. */
export function sourceFileLines(repo: SessionContext['repo'], path: string, count: number): string[] {
  const rng = new Random('source', repo.slug, path);
  const lines: string[] = [];
  const rust = repo.lang === 'rust';
  lines.push(rust ? 'use std::sync::Arc;' : "import { z } from 'zod';");
  lines.push(rust ? 'use crate::error::Error;' : "import type { Config } from '../config.ts';");
  while (lines.length < count) {
    const a = rng.pick(SOURCE_WORDS);
    const b = rng.pick(SOURCE_WORDS);
    const fn = camel(a, b);
    if (rust) {
      lines.push('', `/// Returns the ${a} ${b} for the given ${rng.pick(SOURCE_WORDS)}.`);
      lines.push(
        `pub async fn ${a}_${b}(&self, ${b}: &${rng.pick(RUST_TYPES)}) -> Result<${rng.pick(RUST_TYPES)}, Error> {`,
      );
      for (let i = rng.int(2, 8); i > 0; i--) {
        const c = rng.pick(SOURCE_WORDS);
        lines.push(
          rng.chance(0.5)
            ? `    let ${c} = self.${a}.${c}(&${b}).await?;`
            : `    tracing::debug!(${c} = ?${b}, "${a} ${c} updated");`,
        );
      }
      lines.push(`    Ok(${b}.clone())`, '}');
    } else {
      lines.push('', `/** Returns the ${a} ${b} for the given ${rng.pick(SOURCE_WORDS)}. */`);
      lines.push(`export async function ${fn}(${b}: ${rng.pick(TS_TYPES)}): Promise<${rng.pick(TS_TYPES)}> {`);
      for (let i = rng.int(2, 8); i > 0; i--) {
        const c = rng.pick(SOURCE_WORDS);
        lines.push(
          rng.chance(0.5) ? `  const ${c} = await ${a}.${c}(${b});` : `  logger.debug({ ${c} }, '${a} ${c} updated');`,
        );
      }
      lines.push(`  return ${b};`, '}');
    }
  }
  return lines.slice(0, count);
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function* preamble(ctx: SessionContext, rng: Random): Generator<string> {
  yield `Starting ${ctx.agent.app} agent container (model ${ctx.model})`;
  yield `TASK_ID=${ctx.taskId} SERVICE=${ctx.repo.service} REPOSITORY=${ctx.repo.slug} STAGE=${ctx.agent.stage}`;
  yield `Authenticating GitHub App ${ctx.agent.app} (installation ${rng.int(40_000_000, 49_999_999)})`;
  yield `Cloning into '/workspace/${ctx.repo.service}'...`;
  const objects = rng.int(2000, 40_000);
  yield `remote: Enumerating objects: ${objects}, done.`;
  yield `remote: Counting objects: 100% (${objects}/${objects}), done.`;
  yield `remote: Compressing objects: 100% (${Math.floor(objects / 3)}/${Math.floor(objects / 3)}), done.`;
  yield `Receiving objects: 100% (${objects}/${objects}), ${(objects / 900).toFixed(2)} MiB | 18.22 MiB/s, done.`;
  yield `Resolving deltas: 100% (${Math.floor(objects / 2)}/${Math.floor(objects / 2)}), done.`;
  yield `Switched to a new branch 'feature/task-${ctx.taskId}-${ctx.agent.short}'`;
  yield `Loaded CLAUDE.md memory (${rng.int(2, 40)} KB), continue-session=${rng.chance(0.5)}`;
}

function* installBlock(ctx: SessionContext, rng: Random): Generator<string> {
  if (ctx.repo.lang === 'node') {
    yield '$ npm ci';
    for (const pkg of NPM_PACKAGES) {
      yield `npm http fetch GET 200 https://registry.npmjs.org/${pkg} ${rng.int(8, 400)}ms (cache ${rng.chance(0.7) ? 'hit' : 'miss'})`;
    }
    yield `npm warn deprecated inflight@1.0.6: This module is not supported, and leaks memory. Do not use it.`;
    yield `npm warn deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported`;
    yield '';
    yield `added ${NPM_PACKAGES.length * 3 + 7} packages, and audited ${NPM_PACKAGES.length * 3 + 8} packages in ${rng.int(8, 90)}s`;
    yield '';
    yield `${rng.int(100, 200)} packages are looking for funding`;
    yield '  run `npm fund` for details';
    yield '';
    yield 'found 0 vulnerabilities';
  } else {
    yield '$ cargo build --all-features';
    yield '    Updating crates.io index';
    for (const crate of CRATES) yield `  Downloaded ${crate} v${crateVersion(crate)}`;
    yield `  Downloaded ${CRATES.length} crates (${(CRATES.length * 0.11).toFixed(1)} MB) in ${rng.int(2, 9)}.${rng.int(10, 99)}s`;
    for (const crate of CRATES) yield `   Compiling ${crate} v${crateVersion(crate)}`;
    yield `   Compiling ${ctx.repo.service} v0.${ctx.taskId % 9}.0 (/workspace/${ctx.repo.service})`;
    yield `    Finished \`dev\` profile [unoptimized + debuginfo] target(s) in ${rng.int(40, 300)}.${rng.int(10, 99)}s`;
  }
}

function crateVersion(name: string): string {
  const r = new Random('crate', name);
  return `${r.int(0, 1)}.${r.int(0, 40)}.${r.int(0, 30)}`;
}

function* stackTrace(ctx: SessionContext, rng: Random, files: string[]): Generator<string> {
  const file = rng.pick(files);
  if (ctx.repo.lang === 'rust') {
    yield `thread '${rng.pick(SOURCE_WORDS)}::tests::${rng.pick(SOURCE_WORDS)}_${rng.pick(SOURCE_WORDS)}' panicked at ${file}:${rng.int(10, 400)}:${rng.int(5, 40)}:`;
    yield `called \`Result::unwrap()\` on an \`Err\` value: ${rng.pick(['NotFound', 'Timeout', 'Conflict'])}("${rng.pick(SOURCE_WORDS)} ${rng.pick(SOURCE_WORDS)}")`;
    yield 'stack backtrace:';
    const frames = ['rust_begin_unwind', 'core::panicking::panic_fmt', 'core::result::unwrap_failed'];
    for (let i = 0; i < frames.length; i++) yield `   ${i}: ${frames[i]}`;
    for (let i = 0; i < 6; i++) {
      const w = SOURCE_WORDS[(i * 7 + file.length) % SOURCE_WORDS.length]!;
      yield `   ${i + 3}: ${ctx.repo.service}::${w}::${w}_handler::{{closure}}`;
      yield `             at ./${file}:${40 + i * 13}:${9 + i}`;
    }
    yield 'note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.';
  } else {
    yield `Error: ${rng.pick(['Request failed with status code 404', 'Timeout of 5000ms exceeded', "Cannot read properties of undefined (reading 'status')"])}`;
    for (let i = 0; i < 7; i++) {
      const f = files[(i * 5 + file.length) % files.length]!;
      yield `    at ${camel(SOURCE_WORDS[i % SOURCE_WORDS.length]!, 'handler')} (/workspace/${ctx.repo.service}/${f}:${30 + i * 11}:${7 + i})`;
    }
    yield '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)';
  }
}

function* testRun(ctx: SessionContext, rng: Random, files: string[]): Generator<string> {
  const cmd = ctx.repo.lang === 'rust' ? 'cargo test --all-features' : 'npm test';
  yield `$ ${cmd}`;
  const total = rng.int(30, 160);
  let failed = 0;
  const testRng = new Random('tests', ctx.repo.slug); // the same tests in the same order, run after run
  for (let i = 0; i < total; i++) {
    const name = `${testRng.pick(SOURCE_WORDS)}::tests::${testRng.pick(SOURCE_WORDS)}_${testRng.pick(SOURCE_WORDS)}_${i}`;
    const fail = rng.chance(0.03);
    if (fail) failed++;
    yield ctx.repo.lang === 'rust'
      ? `test ${name} ... ${fail ? 'FAILED' : 'ok'}`
      : ` ${fail ? '×' : '✓'} ${name.replace(/::/g, ' > ')} ${rng.int(0, 90)}ms`;
  }
  if (failed) {
    yield '';
    yield 'failures:';
    for (let i = 0; i < failed; i++) yield* stackTrace(ctx, rng, files);
  }
  yield ctx.repo.lang === 'rust'
    ? `test result: ${failed ? 'FAILED' : 'ok'}. ${total - failed} passed; ${failed} failed; 0 ignored; 0 measured; 0 filtered out; finished in ${rng.int(0, 30)}.${rng.int(10, 99)}s`
    : ` Tests  ${failed ? `${failed} failed | ` : ''}${total - failed} passed (${total})`;
}

function* toolCall(ctx: SessionContext, rng: Random, files: string[]): Generator<string> {
  const tool = rng.pick(TOOL_NAMES);
  const id = `toolu_01${rng.hex(22)}`;
  const base = { session_id: ctx.sessionId, parent_tool_use_id: null };
  const toolUse = (input: Record<string, unknown>) =>
    json({ type: 'assistant', message: { content: [{ type: 'tool_use', id, name: tool, input }] }, ...base });
  const toolResult = (content: string) =>
    json({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: id, content }] }, ...base });
  if (tool === 'Read' || tool === 'Edit' || tool === 'Write') {
    const file = rng.pick(files);
    yield toolUse({ file_path: `/workspace/${ctx.repo.service}/${file}` });
    const lines = sourceFileLines(ctx.repo, file, rng.int(20, 120));
    const start = tool === 'Read' ? 0 : rng.int(0, Math.max(0, lines.length - 20));
    const shown = tool === 'Read' ? lines : lines.slice(start, start + 20);
    yield toolResult(shown.map((l, i) => `${String(start + i + 1).padStart(5)}→${l}`).join('\n'));
  } else if (tool === 'Bash') {
    const command = rng.pick(BASH_COMMANDS);
    yield toolUse({ command: command.endsWith('task-') ? `${command}${ctx.taskId}` : command });
    if (command.startsWith('cargo test') || command === 'npm test') yield* testRun(ctx, rng, files);
    else yield toolResult(`exit code 0 (${rng.int(1, 900)}ms)`);
  } else {
    yield toolUse({ pattern: `${rng.pick(SOURCE_WORDS)}_${rng.pick(SOURCE_WORDS)}` });
    yield toolResult(files.slice(0, rng.int(1, 8)).join('\n'));
  }
}

/** An endless agent session; the writer stops it when the log reaches its size. */
export function* agentSessionLines(ctx: SessionContext, rng: Random): Generator<string> {
  const files = sourceFiles(ctx.repo);
  yield* preamble(ctx, rng);
  yield* installBlock(ctx, rng);
  for (let turn = 0; ; turn++) {
    const r = rng.float();
    if (r < 0.35) {
      yield json({
        type: 'assistant',
        message: {
          id: `msg_01${rng.hex(22)}`,
          model: ctx.model,
          content: [{ type: 'text', text: rng.pick(ASSISTANT_PHRASES) }],
        },
        session_id: ctx.sessionId,
      });
    } else if (r < 0.85) {
      yield* toolCall(ctx, rng, files);
    } else if (r < 0.95) {
      yield* testRun(ctx, rng, files);
    } else if (r < 0.98) {
      yield* stackTrace(ctx, rng, files);
    } else {
      yield* installBlock(ctx, rng); // agents reinstall after touching the lockfile
    }
    if (turn % 50 === 49) {
      yield json({
        type: 'result',
        subtype: 'progress',
        num_turns: turn + 1,
        total_cost_usd: Number((turn * 0.013).toFixed(3)),
        session_id: ctx.sessionId,
      });
    }
  }
}

/** Log of an Argo executor pod (resource template, stage update, cleanup): short and repetitive. */
export function* argoPodLines(kind: string, wfName: string, rng: Random): Generator<string> {
  yield `level=info msg="Starting Workflow Executor" version=v3.7.1`;
  yield `level=info msg="Using executor retry strategy" Duration=1s Factor=1.6 Jitter=0.5 Steps=5`;
  if (kind === 'create-coderun-resource' || kind === 'wait-coderun-completion') {
    yield `level=info msg="Loading manifest to /tmp/manifest.yaml"`;
    yield `level=info msg="kubectl ${kind.startsWith('create') ? 'create' : 'get'} -f /tmp/manifest.yaml -o json"`;
    const polls = kind.startsWith('wait') ? rng.int(5, 60) : 1;
    for (let i = 0; i < polls; i++)
      yield `level=info msg="Resource ${wfName} status: phase=${i === polls - 1 ? 'Succeeded' : 'Running'}"`;
  } else {
    yield `🔎 ${kind} for ${wfName}`;
    for (let i = rng.int(3, 20); i > 0; i--)
      yield `level=info msg="kubectl label workflow ${wfName} current-stage --overwrite" attempt=${i}`;
  }
  yield `level=info msg="sub-process exited" argo=true error="<nil>"`;
}
