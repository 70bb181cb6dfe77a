// The benchmark's target verdicts: computed from the run's numbers, never assumed.
import { describe, expect, test } from 'vitest';
import { targets, type ToolResult } from '../../hack/bench/run.ts';
import type { CorpusProfile } from '../../hack/corpus/generate.ts';

function tool(name: string, ratio: number, ingestMBps: number, extra: Partial<ToolResult> = {}): ToolResult {
  return {
    tool: name,
    storedBytes: ratio * 1e8,
    ratio,
    ingestSeconds: 200 / ingestMBps,
    ingestRuns: [200 / ingestMBps],
    ingestMBps,
    ingestCpuSeconds: 1,
    workflowsPerSecond: 1,
    restoreSeconds: 1,
    restoreVerified: true,
    peakRssMiB: 100,
    ...extra,
  };
}

const verdicts = (results: ToolResult[], profile: CorpusProfile = 'play') =>
  Object.fromEntries(targets(results, profile).map((t) => [t.target, t.met]));

describe('benchmark targets', () => {
  test('each target is judged from the numbers of the run', () => {
    const run = [
      tool('strata', 0.069, 81, { ingestCpuSeconds: 3.7 }),
      tool('restic', 0.175, 119, { ingestCpuSeconds: 2.1 }),
      tool('zstd-19-long', 0.0717, 1.8),
    ];
    expect(verdicts(run)).toEqual({
      'stored/original <= 0.08': true,
      'stored/original below every peer': true,
      'ingest >= 1x restic': false,
      'ingest CPU s <= 2x restic': true,
      'restore of 100 MB <= 3 s': true,
      'peak RSS <= 256 MiB': true,
    });
    const other = [
      tool('strata', 0.09, 120, { restoreSeconds: 3.5, peakRssMiB: 300, ingestCpuSeconds: 4.3 }),
      tool('restic', 0.175, 119, { ingestCpuSeconds: 2.1 }),
      tool('zstd-19-long', 0.085, 1.8),
    ];
    expect(verdicts(other)).toEqual({
      'stored/original <= 0.08': false,
      'stored/original below every peer': false,
      'ingest >= 1x restic': true,
      'ingest CPU s <= 2x restic': false,
      'restore of 100 MB <= 3 s': false,
      'peak RSS <= 256 MiB': false,
    });
  });

  test('the pods profile is judged against its own peers, without the play corpus’s absolute targets', () => {
    const pods = [
      tool('strata', 0.146, 75, { ingestCpuSeconds: 4.2, restoreSeconds: 9 }),
      tool('restic', 0.206, 100, { ingestCpuSeconds: 2 }),
      tool('zstd-19-long', 0.11, 3.5),
    ];
    expect(verdicts(pods, 'pods')).toEqual({
      'stored/original below every peer': false,
      'ingest >= 1x restic': false,
      'ingest CPU s <= 2x restic': false,
      'peak RSS <= 256 MiB': true,
    });
    const better = [tool('strata', 0.105, 101, { ingestCpuSeconds: 3.9 }), ...pods.slice(1)];
    expect(verdicts(better, 'pods')).toEqual({
      'stored/original below every peer': true,
      'ingest >= 1x restic': true,
      'ingest CPU s <= 2x restic': true,
      'peak RSS <= 256 MiB': true,
    });
  });

  test('the native-floor reference row is not a peer of the ratio target', () => {
    const run = [tool('strata', 0.0691, 95), tool('restic', 0.175, 122), tool('native-floor', 0.068, 240)];
    expect(verdicts(run)['stored/original below every peer']).toBe(true);
    expect(verdicts([...run, tool('borg', 0.06, 116)])['stored/original below every peer']).toBe(false);
  });

  test('the launcher run is judged on its peak RSS only, and is no peer of the ratio target', () => {
    const run = [tool('strata', 0.0691, 95), tool('restic', 0.175, 122)];
    const launcher = (rss: number) => tool('strata-launcher', 0.01, 10, { peakRssMiB: rss });
    expect(verdicts([...run, launcher(240)])).toMatchObject({
      'stored/original below every peer': true,
      'peak RSS through bin/strata.js <= 256 MiB': true,
    });
    expect(verdicts([...run, launcher(270)])['peak RSS through bin/strata.js <= 256 MiB']).toBe(false);
    expect(verdicts(run)).not.toHaveProperty('peak RSS through bin/strata.js <= 256 MiB');
  });

  test('a skipped peer leaves its target unjudged, not met', () => {
    const checks = targets([tool('strata', 0.069, 81)]);
    expect(checks.find((t) => t.target === 'ingest >= 1x restic')).toMatchObject({ value: null, met: null });
    expect(checks.find((t) => t.target === 'ingest CPU s <= 2x restic')).toMatchObject({ value: null, met: null });
    expect(checks.find((t) => t.target === 'stored/original below every peer')?.met).toBeNull();
  });
});
