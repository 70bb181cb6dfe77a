// Generates a realistic corpus of multi-agent play workflows in the directory-export layout, streamed to disk.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { agentSessionLines, argoPodLines, LogClock, type SessionContext } from './agent-log.ts';
import { diffLines, statusJson, testReportLines } from './artifacts.ts';
import { codeRunObject, planPlayWorkflow, type PlayPlan } from './play-workflow.ts';
import { writePodsWorkflow, type PodsWorkflowRecord } from './pods-corpus.ts';
import { Random } from './random.ts';
import { writeLines, writeText } from './write.ts';

/**
 * `play`: multi-agent play workflows (the project's own data); `pods`: pod logs of CI, release, ETL and training
 * pipelines of many teams, a corpus the format was not tuned on (docs/benchmark.md, "Corpus").
 */
export type CorpusProfile = 'play' | 'pods';
export const CORPUS_PROFILES: readonly CorpusProfile[] = ['play', 'pods'];

export interface CorpusOptions {
  /** Output directory (created; existing files with the same names are overwritten). */
  dir: string;
  workflows: number;
  seed: number | string;
  /** Default `play`. */
  profile?: CorpusProfile;
  /**
   * Approximate total size; default 512 KiB (play) or 1 MB (pods) per workflow. Workflows vary around the mean
   * (0.5×–1.5×).
   */
  targetBytes?: number;
  /** Called after each workflow is written. */
  onWorkflow?: (done: number, total: number, bytes: number) => void;
}

export interface CorpusWorkflow {
  namespace: string;
  name: string;
  uid: string;
  bytes: number;
  files: number;
  attempts: number;
  phase: string;
}

export interface CorpusSummary {
  dir: string;
  workflows: CorpusWorkflow[];
  bytes: number;
  files: number;
}

const EPOCH = new Date('2026-01-05T00:00:00Z');
const DEFAULT_BYTES_PER_WORKFLOW: Record<CorpusProfile, number> = { play: 512 * 1024, pods: 1_000_000 };
/** Shares of what is left of a workflow's size after its fixed-size files: agent (CodeRun job) logs and diffs. */
const AGENT_LOG_SHARE = 0.9;
const DIFF_SHARE = 0.1;
const STAGE_WEIGHT: Record<string, number> = { implementation: 0.5, quality: 0.2, testing: 0.3 };

/** First `bytes` of an earlier attempt's log (a retried run repeats it), then the new attempt's own lines. */
function* repeatThenDiverge(first: Iterator<string>, bytes: number, rest: Iterable<string>): Generator<string> {
  let n = 0;
  while (n < bytes) {
    const r = first.next();
    if (r.done) break;
    n += r.value.length + 40;
    yield r.value;
  }
  yield* rest;
}

async function writeWorkflow(root: string, plan: PlayPlan, budget: number, seed: number | string, index: number) {
  const rng = new Random(seed, 'content', index);
  const wfDir = join(root, plan.namespace, plan.name);
  let bytes = 0;
  let files = 0;
  const add = (n: number) => {
    bytes += n;
    files++;
  };

  add(await writeText(join(wfDir, 'workflow.yaml'), stringify(plan.workflow, { lineWidth: 0 })));

  for (const pod of plan.pods) {
    const clock = new LogClock(pod.startedAt, rng.fork('clock', pod.nodeId));
    add(
      await writeLines(
        join(wfDir, 'logs', pod.nodeId, 'main.log'),
        argoPodLines(pod.template, plan.name, rng.fork('pod', pod.nodeId)),
        { clock },
      ),
    );
    if (rng.chance(0.3)) {
      const wait = [
        'level=info msg="Starting Workflow Executor" version=v3.7.1',
        'level=info msg="Waiting on main container"',
        `level=info msg="Main container completed" error="<nil>"`,
        'level=info msg="Saving logs"',
        `level=info msg="S3 Save path: /tmp/argo/outputs/logs/main.log, key: ${plan.name}/${pod.podName}/main.log"`,
        'level=info msg="Alloc=9876 TotalAlloc=19237 Sys=29013 NumGC=5 Goroutines=11"',
      ];
      add(await writeLines(join(wfDir, 'logs', pod.nodeId, 'wait.log'), wait, { clock }));
    }
  }

  const totalWeight = plan.attempts.reduce((sum, a) => sum + (STAGE_WEIGHT[a.stage.stage] ?? 0.2), 0);
  const implAttempts = plan.attempts.filter((a) => a.stage.stage === 'implementation').length;
  const pr = 100 + (plan.taskId % 900);
  const sessionOf = (attempt: PlayPlan['attempts'][number]): SessionContext => ({
    repo: plan.repo,
    agent: attempt.stage,
    taskId: plan.taskId,
    model: plan.model,
    sessionId: new Random(seed, 'session-id', index, attempt.stage.stage).uuid(),
  });
  const resDir = join(wfDir, 'resources', 'CodeRun');
  // Fixed-size files first; agent logs and diffs then share what is left of the workflow's size.
  for (const attempt of plan.attempts) {
    const cr = codeRunObject(plan, attempt, rng.fork('cr', attempt.coderunName));
    add(await writeText(join(resDir, `${attempt.coderunName}.yaml`), stringify(cr, { lineWidth: 0 })));
    for (const artifact of attempt.waitPod.artifacts) {
      const path = join(wfDir, 'artifacts', attempt.waitPod.nodeId, artifact.file);
      const arng = rng.fork('artifact', attempt.waitPod.nodeId, artifact.name);
      const ctx = sessionOf(attempt);
      if (artifact.kind === 'status') {
        add(await writeText(path, statusJson(ctx, arng, attempt.phase, attempt.attempt, pr)));
      } else if (artifact.kind === 'test-report') {
        add(await writeLines(path, testReportLines(ctx, arng, attempt.phase === 'Failed')));
      }
    }
  }
  const rest = Math.max(budget - bytes, 0);
  for (const attempt of plan.attempts) {
    const ctx = sessionOf(attempt);
    const logBudget = Math.max(
      4096,
      (rest * AGENT_LOG_SHARE * (STAGE_WEIGHT[attempt.stage.stage] ?? 0.2)) / totalWeight,
    );
    // Attempts of a stage share the session seed: a retry replays the same steps before it diverges.
    const sessionRng = (label: string | number) => new Random(seed, 'session', index, attempt.stage.stage, label);
    const own = agentSessionLines(ctx, sessionRng(attempt.attempt));
    const lines =
      attempt.attempt === 1
        ? own
        : repeatThenDiverge(agentSessionLines(ctx, sessionRng(1)), logBudget * (0.6 + 0.3 * rng.float()), own);
    const clock = new LogClock(attempt.waitPod.startedAt, rng.fork('agent-clock', attempt.coderunName));
    const logPath = join(resDir, attempt.coderunName, 'logs', attempt.jobPodName, 'claude.log');
    add(await writeLines(logPath, lines, { budget: logBudget, clock }));
    for (const artifact of attempt.waitPod.artifacts.filter((a) => a.kind === 'diff')) {
      const path = join(wfDir, 'artifacts', attempt.waitPod.nodeId, artifact.file);
      const arng = rng.fork('artifact', attempt.waitPod.nodeId, artifact.name);
      add(await writeLines(path, diffLines(ctx, arng, 1_000_000), { budget: (rest * DIFF_SHARE) / implAttempts }));
    }
  }
  return { bytes, files };
}

/**
 * Writes `workflows` play workflows under `dir` in the directory-export layout (docs/directory-export.md).
 * Same seed and options → same bytes. Memory stays flat: every log is streamed line by line.
 */
export async function generateCorpus(options: CorpusOptions): Promise<CorpusSummary> {
  const { dir, workflows, seed } = options;
  const profile = options.profile ?? 'play';
  const target = options.targetBytes ?? workflows * DEFAULT_BYTES_PER_WORKFLOW[profile];
  const weightRng = new Random(seed, 'weights');
  const weights = Array.from({ length: workflows }, () => 0.5 + weightRng.float());
  const weightSum = weights.reduce((a, b) => a + b, 0) || 1;
  const summary: CorpusSummary = { dir, workflows: [], bytes: 0, files: 0 };
  await mkdir(dir, { recursive: true });
  const podsRecords: PodsWorkflowRecord[] = [];
  for (let i = 0; i < workflows; i++) {
    const budget = (target * weights[i]!) / weightSum;
    let written: CorpusWorkflow;
    if (profile === 'pods') {
      const { plan, record, bytes, files } = await writePodsWorkflow(dir, seed, i, budget, EPOCH, podsRecords);
      podsRecords.push(record);
      const { namespace, name, uid } = plan;
      const phase = plan.pods.some((p) => p.phase === 'Failed') ? 'Failed' : 'Succeeded';
      written = { namespace, name, uid, bytes, files, attempts: plan.retryOf === undefined ? 1 : 2, phase };
    } else {
      const plan = planPlayWorkflow(new Random(seed, 'plan', i), i, EPOCH);
      const { bytes, files } = await writeWorkflow(dir, plan, budget, seed, i);
      const { namespace, name, uid, phase } = plan;
      written = { namespace, name, uid, bytes, files, attempts: plan.attempts.length, phase };
    }
    summary.workflows.push(written);
    summary.bytes += written.bytes;
    summary.files += written.files;
    options.onWorkflow?.(i + 1, workflows, summary.bytes);
  }
  return summary;
}
