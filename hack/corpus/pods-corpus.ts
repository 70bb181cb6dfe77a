// The `pods` corpus profile: 200 workflows of ~14 pod logs each from CI, release, ETL and training pipelines,
// written in the directory-export layout (the properties are listed in docs/benchmark.md, "Corpus").
import { join } from 'node:path';
import { stringify } from 'yaml';
import { formatLine, podMessages, type Message } from './pods-log.ts';
import { pickPipeline, planPodsWorkflow, type PodsPlan, type PodsPodPlan } from './pods-workflow.ts';
import { Random } from './random.ts';
import { writeLines, writeText } from './write.ts';

/** Share of workflows that re-run an earlier one, and how much of the earlier run's log a re-run repeats. */
export const RETRY_SHARE = 0.1;
export const RETRY_REPEAT = 0.7;

/** What a later re-run needs to know about a workflow: its pipeline and each pod's log size. */
export interface PodsWorkflowRecord {
  pipeline: ReturnType<typeof pickPipeline>;
  retryOf?: number;
  logBytes: Map<string, number>;
}

const podKey = (p: PodsPodPlan) => `${p.step.template}#${p.shard}`;

/** A pod's clock: milliseconds apart, now and then seconds (a download, a build). */
class PodClock {
  constructor(
    public ms: number,
    readonly rng: Random,
  ) {}
  tick(): number {
    this.ms += this.rng.chance(0.02) ? this.rng.int(200, 15_000) : this.rng.int(0, 60);
    return this.ms;
  }
}

/** Log lines of a pod: `messages` formatted with timestamps from its clock, blocks as they are. */
function* podLines(pod: PodsPodPlan, messages: Iterator<Message>, clock: PodClock, until = Infinity) {
  let bytes = 0;
  while (bytes < until) {
    const m = messages.next().value as Message;
    const line = 'block' in m ? m.block : formatLine(pod.step, clock.tick(), clock.rng.int(0, 999), m);
    bytes += line.length + 1;
    yield line;
  }
}

function* concat<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const p of parts) yield* p;
}

/** Writes workflow `index` (a re-run of an earlier one with chance RETRY_SHARE) and returns what it wrote. */
export async function writePodsWorkflow(
  root: string,
  seed: number | string,
  index: number,
  budget: number,
  epoch: Date,
  earlier: PodsWorkflowRecord[],
): Promise<{ plan: PodsPlan; record: PodsWorkflowRecord; bytes: number; files: number }> {
  const retryRng = new Random(seed, 'pods-retry', index);
  // A re-run repeats a first run (a re-run of a re-run would repeat what that one repeated).
  const firstRuns = earlier.flatMap((r, i) => (r.retryOf === undefined ? [i] : []));
  const retryOf = firstRuns.length && retryRng.chance(RETRY_SHARE) ? retryRng.pick(firstRuns) : undefined;
  const pipeline =
    retryOf === undefined ? pickPipeline(new Random(seed, 'pods-kind', index)) : earlier[retryOf]!.pipeline;
  const plan = planPodsWorkflow(new Random(seed, 'pods-plan', index), index, epoch, pipeline, retryOf);
  const wfDir = join(root, plan.namespace, plan.name);
  let bytes = await writeText(join(wfDir, 'workflow.yaml'), stringify(plan.workflow, { lineWidth: 0 }));
  let files = 1;
  const sizeRng = new Random(seed, 'pods-size', index);
  const weights = plan.pods.map(() => 0.4 + 1.2 * sizeRng.float());
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const rest = Math.max(budget - bytes, 0);
  const record: PodsWorkflowRecord = { pipeline, retryOf, logBytes: new Map() };
  for (const [i, pod] of plan.pods.entries()) {
    const key = podKey(pod);
    const messagesOf = (wf: number) =>
      podMessages(seed, pipeline.kind.name, pod.step, new Random(seed, 'pods-messages', wf, key));
    const clock = new PodClock(pod.startedAt.getTime(), new Random(seed, 'pods-clock', index, key));
    const original = retryOf === undefined ? undefined : earlier[retryOf]!.logBytes.get(key);
    // A re-run's log is about as long as the run it repeats.
    const own = Math.max(2048, (rest * weights[i]!) / weightSum);
    const podBudget = original === undefined ? own : original * (0.9 + 0.2 * sizeRng.float());
    const lines =
      original === undefined
        ? podLines(pod, messagesOf(index), clock)
        : concat(
            podLines(pod, messagesOf(retryOf!), clock, original * RETRY_REPEAT),
            podLines(pod, messagesOf(index), clock),
          );
    const written = await writeLines(join(wfDir, 'logs', pod.nodeId, 'main.log'), lines, { budget: podBudget });
    record.logBytes.set(key, written);
    bytes += written;
    files++;
  }
  return { plan, record, bytes, files };
}
