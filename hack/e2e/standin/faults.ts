// Container faults a scenario asks the node for: a JSON list in <stand-in state>/faults.json, each entry killing the
// next `times` pods whose name matches `pod` (a regular expression) `killAfterSeconds` after they start, the way a
// node kills a container that ran out of memory. Each use is written back, so a fault fires exactly `times` times.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ContainerFault } from './pod-run.ts';

export interface FaultRule {
  pod: string;
  times: number;
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
  return { killAfterSeconds: rule.killAfterSeconds ?? 0, reason: rule.reason ?? 'OOMKilled' };
}
