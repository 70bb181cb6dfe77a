// What the watch loop does with one finished workflow now: archive it, wait for its due time, retry later, or let go.
import type { ArchiveVerdict } from './assess.ts';

export type WatchPlan =
  | { action: 'archive'; reason: string }
  /** Policy allows archiving at `due`: look again then (with the policy in force at that moment). */
  | { action: 'wait'; due: Date; reason: string }
  /** The policy could not decide, or archiving failed: look again at `due` (backoff), never forget it. */
  | { action: 'retry'; due: Date; attempts: number; reason: string }
  /** Nothing will change without a policy change (the sweep after `--reset-watermark` covers that). */
  | { action: 'drop'; reason: string };

export interface WatchPlanInput {
  now: Date;
  /** The verdict, or the error deciding it threw. */
  decision: { verdict: ArchiveVerdict } | { error: string };
  /** Failed attempts so far for this workflow. */
  attempts: number;
}

/** First retry after 30 s, doubling up to 15 min (the sweep's interval): a broken policy is not hammered. */
export const RETRY_BASE_MS = 30_000;
export const RETRY_MAX_MS = 15 * 60_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
}

export type RetryPlan = Extract<WatchPlan, { action: 'retry' }>;

export function retryAfter(now: Date, attempts: number, reason: string): RetryPlan {
  return { action: 'retry', due: new Date(now.getTime() + retryDelayMs(attempts)), attempts, reason };
}

export function planWatch(input: WatchPlanInput): WatchPlan {
  const { now, decision } = input;
  if ('error' in decision) return retryAfter(now, input.attempts + 1, `policy error: ${decision.error}`);
  const v = decision.verdict;
  if (v.policyError) return retryAfter(now, input.attempts + 1, `policy cannot decide: ${v.reason}`);
  if (v.archive) return { action: 'archive', reason: v.reason };
  if (v.final) return { action: 'drop', reason: v.reason };
  if (v.dueAt && v.dueAt.getTime() > now.getTime()) return { action: 'wait', due: v.dueAt, reason: v.reason };
  // Not archived although the due time passed: the policy says something this loop does not model; ask again later.
  return retryAfter(now, input.attempts + 1, v.reason);
}
