// CPU seconds and stored bytes of zstd levels on the frames' text (timestamps out), grouped as the archiver packs.
// `tsx hack/measure/levels.ts DIR LEVEL…`
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';

const dir = process.argv[2]!;
const files: string[] = [];
const walk = (d: string) => {
  for (const n of readdirSync(d).sort()) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(dir);
const data = Buffer.concat(files.map((f) => readFileSync(f)));
const frames: Buffer[] = [];
for (let i = 0; i < data.length; i += 4 << 20) frames.push(data.subarray(i, i + (4 << 20)));
for (const arg of process.argv.slice(3)) {
  // LEVEL[/minMatch[/searchLog[/chainLog[/hashLog[/targetLength]]]]], 0 for the level's own
  const [level, minMatch, searchLog, chainLog, hashLog, targetLength] = arg.split('/').map(Number);
  const c = new Compressor();
  const params: Record<string, number> = { compressionLevel: level! };
  if (minMatch) params.minMatch = minMatch;
  if (searchLog) params.searchLog = searchLog;
  if (chainLog) params.chainLog = chainLog;
  if (hashLog) params.hashLog = hashLog;
  if (targetLength) params.targetLength = targetLength;
  c.setParameters(params);
  const t = process.cpuUsage();
  let out = 0;
  for (const f of frames) out += c.compress(f).length;
  const cpu = process.cpuUsage(t);
  console.log(`level ${arg}: ${(out / data.length).toFixed(4)} in ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU s`);
}
