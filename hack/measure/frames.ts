// Measures where the stored bytes go on a corpus: frame order, timestamps, levels, dictionaries (docs/format.md).
// `tsx hack/measure/frames.ts DIR [experiment…]`
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { isSourceProblem } from '../../lib/bundle/bundle.ts';
import { encodeFrame, encodeFrameStyles } from '../../lib/archive/frame-codec.ts';
import { openDirectorySource } from '../../lib/sources/directory.ts';

interface Item {
  wf: number;
  kind: string;
  template: string;
  scope: string;
  data: Buffer;
}

const dir = process.argv[2]!;
const experiments = new Set(process.argv.slice(3));
const FRAME = 4 << 20;
const BATCH = 32;

const source = openDirectorySource(dir);
const items: Item[] = [];
let wf = 0;
for await (const id of source.list()) {
  if (isSourceProblem(id)) continue;
  const b = await source.load(id);
  const nodes = ((b.workflow.status as Record<string, unknown>)?.nodes ?? {}) as Record<
    string,
    { templateName?: string; templateScope?: string }
  >;
  for (const e of b.entries) {
    const data = e.read ? await e.read() : await readFile(join(dir, b.namespace, b.name, e.path));
    items.push({
      wf,
      kind: e.kind,
      template: e.nodeId ? (nodes[e.nodeId]?.templateName ?? '') : '',
      scope: e.nodeId ? (nodes[e.nodeId]?.templateScope ?? '') : '',
      data,
    });
  }
  wf++;
}
const total = items.reduce((a, i) => a + i.data.length, 0);
console.log(`${wf} workflows, ${items.length} entries, ${(total / 1e6).toFixed(1)} MB`);

function frames(order: Item[], size = FRAME): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  let n = 0;
  for (const it of order) {
    cur.push(it.data);
    n += it.data.length;
    if (n >= size) {
      out.push(Buffer.concat(cur));
      cur = [];
      n = 0;
    }
  }
  if (cur.length) out.push(Buffer.concat(cur));
  return out;
}

function report(name: string, fs: Buffer[], enc: (f: Buffer, i: number) => number) {
  const t = process.cpuUsage();
  let stored = 0;
  fs.forEach((f, i) => (stored += enc(f, i)));
  const cpu = process.cpuUsage(t);
  console.log(
    `${name.padEnd(48)} ${(stored / total).toFixed(4)}  (${stored} B, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU s)`,
  );
}

const codec = (level: number) => (f: Buffer) => encodeFrame(f, level).length;
const styles = (level: number) => (f: Buffer) => encodeFrameStyles(f, level).length;
const plain = (level: number) => {
  const c = new Compressor();
  c.setParameters({ compressionLevel: level });
  return (f: Buffer) => c.compress(f).length;
};

/** Within each batch of 32 workflows: logs by template, then the rest (what grouping before framing would do). */
function grouped(key: (i: Item) => string, batchSize = BATCH): Item[] {
  const out: Item[] = [];
  for (let b = 0; b * batchSize < wf; b++) {
    const batch = items.filter((i) => Math.floor(i.wf / batchSize) === b);
    const idx = new Map(batch.map((i, k) => [i, k]));
    batch.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : idx.get(x)! - idx.get(y)!));
    out.push(...batch);
  }
  return out;
}

const all = experiments.size === 0;
const on = (e: string) => all || experiments.has(e);
if (on('base')) report('archive order, codec level 8', frames(items), codec(8));
if (on('styles')) report('archive order, encoding 3 level 8', frames(items), styles(8));
if (on('styles-group'))
  report(
    'grouped by kind+template in batch, encoding 3',
    frames(grouped((i) => `${i.kind}\0${i.template}`)),
    styles(8),
  );
if (on('styles-scope'))
  report(
    'grouped by scope+template in batch, encoding 3',
    frames(grouped((i) => `${i.kind}\0${i.scope}\0${i.template}`)),
    styles(8),
  );
if (on('styles-group64')) {
  const saved = BATCH;
  report(
    'grouped by template in 64-workflow batches, enc 3',
    frames(grouped((i) => `${i.kind}\0${i.template}`, 64)),
    styles(8),
  );
  void saved;
}
if (on('styles-level'))
  for (const l of [9, 10, 12])
    report(`grouped, encoding 3 level ${l}`, frames(grouped((i) => `${i.kind}\0${i.template}`)), styles(l));
if (on('frame6'))
  report(
    'grouped by scope+template, 6 MiB frames, enc 3',
    frames(
      grouped((i) => `${i.kind}\0${i.scope}\0${i.template}`),
      6 << 20,
    ),
    styles(8),
  );
if (on('frame8'))
  report(
    'grouped by scope+template, 8 MiB frames, enc 3',
    frames(
      grouped((i) => `${i.kind}\0${i.scope}\0${i.template}`),
      8 << 20,
    ),
    styles(8),
  );
if (on('batches'))
  for (const n of [16, 32, 64, 100, 200])
    report(
      `scope+template, batches of ${n}, enc 3`,
      frames(grouped((i) => `${i.kind === 'workflow' ? 0 : 1}${i.kind}\0${i.scope}\0${i.template}`, n)),
      styles(8),
    );
if (on('plain')) report('archive order, plain zstd 8', frames(items), plain(8));
if (on('plain-group'))
  report('grouped, plain zstd 8', frames(grouped((i) => `${i.kind}\0${i.scope}\0${i.template}`)), plain(8));
if (on('19')) report('archive order, codec level 19', frames(items), codec(19));
if (on('group'))
  report('grouped by kind+template in batch, codec 8', frames(grouped((i) => `${i.kind}\0${i.template}`)), codec(8));
if (on('group-all')) {
  const sorted = [...items].sort((x, y) => (x.template < y.template ? -1 : x.template > y.template ? 1 : 0));
  report('grouped by template over all, codec 8', frames(sorted), codec(8));
}

/** Every timestamp of the dialects the pods corpus writes, removed: the most a perfect timestamp column could save. */
const ANY_TS =
  /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:Z|[+-]\d\d:\d\d)|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}|(?<=^[IWE])\d{4} \d\d:\d\d:\d\d\.\d{6}|^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d|(?<="time":)\d{13}/gm;
if (on('strip')) {
  let count = 0;
  const stripped = items.map((i) => {
    if (i.kind !== 'log') return i;
    const text = i.data.toString('latin1').replace(ANY_TS, () => (count++, ''));
    return { ...i, data: Buffer.from(text, 'latin1') };
  });
  const saved = stripped.reduce((a, i) => a + i.data.length, 0);
  console.log(`${count} timestamps, ${((total - saved) / 1e6).toFixed(1)} MB of them`);
  report('timestamps removed (no column), plain 8', frames(stripped), plain(8));
  report(
    'timestamps removed, grouped, plain 8',
    frames(grouped((i) => `${i.kind}\0${i.template}`).map((i) => stripped[items.indexOf(i)]!)),
    plain(8),
  );
}

if (on('ctx')) {
  const strippedOf = new Map<Item, Item>();
  for (const i of items) {
    strippedOf.set(
      i,
      i.kind !== 'log' ? i : { ...i, data: Buffer.from(i.data.toString('latin1').replace(ANY_TS, ''), 'latin1') },
    );
  }
  const g = grouped((i) => `${i.kind}\0${i.template}`).map((i) => strippedOf.get(i)!);
  report('stripped, grouped, plain 8 (baseline)', frames(g), plain(8));
  report('stripped, grouped, plain 19', frames(g), plain(19));
  report('stripped, grouped, 32 MiB frames, plain 8', frames(g, 32 << 20), plain(8));
  // A raw dictionary from the first batch: the first 32 KiB of one log per template, and each block once.
  const seen = new Set<string>();
  const parts: Buffer[] = [];
  for (const i of g.filter((x) => x.wf < BATCH)) {
    const key = `${i.kind}\0${i.template}`;
    if (seen.has(key)) continue;
    seen.add(key);
    parts.push(i.data.subarray(0, 32 << 10));
  }
  const dict = Buffer.concat(parts);
  console.log(`dictionary ${parts.length} parts, ${(dict.length / 1e6).toFixed(2)} MB`);
  const c = new Compressor();
  c.setParameters({ compressionLevel: 8 });
  c.loadDictionary(dict);
  const rest = g.filter((x) => x.wf >= BATCH);
  const restTotal = rest.reduce((a, i) => a + i.data.length, 0);
  let without = 0;
  let withDict = 0;
  const p8 = plain(8);
  for (const f of frames(rest)) {
    without += p8(f);
    withDict += c.compress(f).length;
  }
  console.log(
    `after the first batch: plain 8 ${without} B, with dictionary ${withDict} B (${(withDict / without).toFixed(3)}), of ${restTotal} B stripped`,
  );
}

if (on('streams')) {
  const sums = new Array<number>(7).fill(0);
  let count = 0;
  for (const f of frames(grouped((i) => `${i.kind}\0${i.scope}\0${i.template}`))) {
    const e = encodeFrameStyles(f, 8);
    if (e[0] !== 3) {
      sums[6]! += e.length;
      continue;
    }
    count += e.readUInt32BE(1);
    let body = e.length - 29;
    for (let k = 0; k < 6; k++) {
      const l = e.readUInt32BE(5 + 4 * k);
      sums[k]! += l;
      body -= l;
    }
    sums[6]! += body;
  }
  console.log(`${count} timestamps; streams (codes+sec+high, plane 0-3, offsets, text):`, sums.join(' '));
}
