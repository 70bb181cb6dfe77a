// Container faults a scenario asks the node for: a JSON list in <stand-in state>/faults.json, each entry applying to
// the next `times` pods whose name matches `pod` (a regular expression): `holdSeconds` keeps the pod Running that long
// before its container starts (a slow image pull; a window for a scenario to break something in), then
// `killAfterSeconds` kills the container that long after it starts, the way a node kills one that ran out of memory.
// Each use is written back, so a fault fires exactly `times` times.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ContainerFault } from './pod-run.ts';

export interface FaultRule {
  pod: string;
  times: number;
  holdSeconds?: number;
  killAfterSeconds?: number;
  reason?: string;
}

export function takeFault(file: string, podName: string): ContainerFault | undefined {
  if (!existsSync(file)) return undefined;
  const rules = JSON.parse(readFileSync(file, 'utf8')) as FaultRule[];
  const rule = rules.find((r) => r.times > 0 && new RegExp(r.pod).test(podName));
  if (!rule) return undefined;
  rule.times -= 1;
  writeFileSync(`${file}.tmp`, JSON.stringify(rules, null, 2));
  renameSync(`${file}.tmp`, file);
  return {
    holdSeconds: rule.holdSeconds ?? 0,
    ...(rule.killAfterSeconds !== undefined ? { killAfterSeconds: rule.killAfterSeconds } : {}),
    reason: rule.reason ?? 'OOMKilled',
  };
}
