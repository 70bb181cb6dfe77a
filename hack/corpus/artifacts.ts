// Artifacts agent runs leave behind: JUnit test reports, unified diffs of the change, JSON status documents.
import type { Random } from './random.ts';
import { sourceFileLines, sourceFiles, type SessionContext } from './agent-log.ts';
import { SOURCE_WORDS } from './vocabulary.ts';

/** JUnit XML as cargo2junit / vitest --reporter=junit write it. */
export function* testReportLines(ctx: SessionContext, rng: Random, failing: boolean): Generator<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>';
  const suites = rng.int(3, 12);
  yield `<testsuites name="${ctx.repo.service}" tests="${suites * 20}" failures="${failing ? 1 : 0}">`;
  for (let s = 0; s < suites; s++) {
    const suite = `${ctx.repo.service}::${SOURCE_WORDS[(s * 3) % SOURCE_WORDS.length]}`;
    yield `  <testsuite name="${suite}" tests="20" failures="${failing && s === 0 ? 1 : 0}" time="${rng.int(0, 9)}.${rng.int(100, 999)}">`;
    for (let t = 0; t < 20; t++) {
      const name = `${SOURCE_WORDS[(s + t * 5) % SOURCE_WORDS.length]}_${SOURCE_WORDS[(t * 11) % SOURCE_WORDS.length]}_${t}`;
      if (failing && s === 0 && t === 3) {
        yield `    <testcase classname="${suite}" name="${name}" time="${rng.int(0, 2)}.${rng.int(100, 999)}">`;
        yield `      <failure message="assertion failed: left == right">assertion \`left == right\` failed\n  left: ${rng.int(1, 9)}\n right: 0</failure>`;
        yield '    </testcase>';
      } else {
        yield `    <testcase classname="${suite}" name="${name}" time="0.${rng.int(1, 999).toString().padStart(3, '0')}"/>`;
      }
    }
    yield '  </testsuite>';
  }
  yield '</testsuites>';
}

/** A unified diff touching a few source files of the repository; larger changes repeat more hunks. */
export function* diffLines(ctx: SessionContext, rng: Random, hunks: number): Generator<string> {
  const files = sourceFiles(ctx.repo);
  for (let h = 0; h < hunks; h++) {
    const file = files[h % files.length]!;
    const lines = sourceFileLines(ctx.repo, file, 60);
    const at = rng.int(0, 40);
    if (h < files.length) {
      yield `diff --git a/${file} b/${file}`;
      yield `index ${rng.hex(7)}..${rng.hex(7)} 100644`;
      yield `--- a/${file}`;
      yield `+++ b/${file}`;
    }
    yield `@@ -${at + 1},12 +${at + 1},14 @@`;
    for (let i = 0; i < 12; i++) {
      const line = lines[at + i] ?? '';
      if (i === 5) {
        yield `-${line}`;
        yield `+${line.replace(/\w+/, (w) => `${w}_${rng.pick(SOURCE_WORDS)}`)}`;
        yield `+    // task ${ctx.taskId}: ${rng.pick(SOURCE_WORDS)} ${rng.pick(SOURCE_WORDS)} handled`;
        yield `+`;
      } else {
        yield ` ${line}`;
      }
    }
  }
}

/** The run status document an agent writes at the end (pretty JSON). */
export function statusJson(ctx: SessionContext, rng: Random, phase: string, attempt: number, prNumber: number): string {
  const doc = {
    taskId: ctx.taskId,
    agent: ctx.agent.app,
    stage: ctx.agent.stage,
    repository: ctx.repo.slug,
    model: ctx.model,
    attempt,
    phase,
    pullRequest: { number: prNumber, url: `https://github.com/${ctx.repo.slug}/pull/${prNumber}` },
    usage: {
      inputTokens: rng.int(20_000, 900_000),
      outputTokens: rng.int(2_000, 90_000),
      cacheReadTokens: rng.int(100_000, 5_000_000),
      costUsd: Number((rng.float() * 12).toFixed(4)),
    },
    checks: ['build', 'clippy', 'fmt', 'test'].map((name) => ({
      name,
      conclusion: phase === 'Failed' && name === 'test' ? 'failure' : 'success',
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
