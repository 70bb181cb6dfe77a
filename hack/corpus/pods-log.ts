// Pod log lines of the `pods` profile: template lines with varying numbers and ids, unique free text, and
// byte-identical blocks (install output, stack traces) shared by many workflows, in six timestamp dialects.
import type { Dialect, Ecosystem, StepKind } from './pods-workflow.ts';
import { Random } from './random.ts';

/** A log message before formatting: one line with a level, or a block of lines printed as they are. */
export type Message = { level: Level; logger: string; text: string } | { block: string };
type Level = 'debug' | 'info' | 'warn' | 'error';

/** Share of lines that are unique free text; the rest are template lines. */
export const FREE_TEXT_SHARE = 0.3;

const SYLLABLES = (
  'ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ha he hi ho ka ke ki ko la le li lo lu ' +
  'ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo wa we ' +
  'wi ya yo za ze zi zo tion ment ness ing ed er ly al ous ive able ter ple ture'
).split(' ');

/** A vocabulary of pseudo-words, the same for every seed; picked with a Zipf-like skew as words of a language are. */
const WORDS: string[] = (() => {
  const rng = new Random('pods-words');
  const out = new Set<string>(['the', 'a', 'to', 'of', 'and', 'in', 'is', 'for', 'on', 'with', 'not', 'was']);
  while (out.size < 4000) {
    let w = '';
    for (let n = rng.int(1, 3); n > 0; n--) w += rng.pick(SYLLABLES);
    out.add(w);
  }
  return [...out];
})();

function word(rng: Random): string {
  // u^4 skews towards the front of the list: a few words are everywhere, most are rare.
  return WORDS[Math.floor(WORDS.length * rng.float() ** 4)]!;
}

function freeText(rng: Random): string {
  const words: string[] = [];
  for (let n = rng.int(4, 20); n > 0; n--) {
    const r = rng.float();
    words.push(r < 0.04 ? String(rng.int(0, 99_999)) : r < 0.06 ? `'${word(rng)}_${word(rng)}'` : word(rng));
  }
  const s = words.join(' ');
  return s[0]!.toUpperCase() + s.slice(1) + (rng.chance(0.7) ? '.' : '');
}

/** A slot of a template line, filled anew on every line. */
type Slot = (rng: Random) => string;

/** Kinds of slot with how often templates use them: mostly small numbers and enumerations, some ids. */
const SLOT_KINDS: [weight: number, make: (rng: Random) => Slot][] = [
  [5, (t) => (t.chance(0.5) ? (r) => String(r.int(0, 99)) : (r) => String(r.int(0, 9_999)))],
  [
    4,
    (t) =>
      (
        (values) => (r: Random) =>
          r.pick(values)
      )(Array.from({ length: t.int(2, 6) }, () => word(t))),
  ],
  [2, () => (r) => r.pick(['200', '200', '200', '200', '201', '204', '304', '404', '409', '500'])],
  [3, () => (r) => `${r.int(0, 1_500)}ms`],
  [1, () => (r) => `${(r.float() * 100).toFixed(1)}%`],
  [1, () => (r) => `${r.int(1, 64)}/64`],
  [1, () => (r) => r.hex(8)],
  [1, () => (r) => r.hex(12)],
  [0.5, () => (r) => r.uuid()],
  [0.5, () => (r) => `10.${r.int(0, 3)}.${r.int(0, 255)}.${r.int(1, 254)}`],
];
const SLOT_WEIGHT = SLOT_KINDS.reduce((a, [w]) => a + w, 0);

function makeSlot(rng: Random): Slot {
  let x = rng.float() * SLOT_WEIGHT;
  for (const [w, make] of SLOT_KINDS) if ((x -= w) < 0) return make(rng);
  return SLOT_KINDS[0]![1](rng);
}

interface Template {
  level: Level;
  logger: string;
  parts: (string | Slot)[];
}

function makeTemplate(rng: Random, loggers: string[]): Template {
  const parts: (string | Slot)[] = [];
  const words = Array.from({ length: rng.int(4, 10) }, () => word(rng));
  parts.push(words.join(' '));
  for (let n = rng.int(0, 2); n > 0; n--) {
    parts.push(rng.chance(0.6) ? ` ${word(rng)}=` : ` ${word(rng)} `, makeSlot(rng));
  }
  const l = rng.float();
  return {
    level: l < 0.08 ? 'debug' : l < 0.9 ? 'info' : l < 0.97 ? 'warn' : 'error',
    logger: rng.pick(loggers),
    parts,
  };
}

function fill(t: Template, rng: Random): string {
  let s = '';
  for (const p of t.parts) s += typeof p === 'string' ? p : p(rng);
  return s;
}

/** The templates of a step's application, shared by every workflow that runs it; a third are its ecosystem's. */
function templatesOf(kind: string, step: StepKind): Template[] {
  const own = new Random('pods-templates', kind, step.template);
  const common = new Random('pods-templates', step.ecosystem);
  const loggers = Array.from({ length: own.int(2, 5) }, () => `${word(own)}.${word(own)}`);
  const out: Template[] = [];
  for (let n = own.int(15, 40); n > 0; n--) out.push(makeTemplate(own, loggers));
  for (let n = 12; n > 0; n--) out.push(makeTemplate(common, loggers));
  return out;
}

/** Blocks of a few KiB printed byte for byte alike wherever they appear: install output first, then stack traces. */
const BLOCKS_PER_ECOSYSTEM = 10;
const INSTALL_BLOCKS = 5;
const blockCache = new Map<string, string>();

function block(seed: number | string, eco: Ecosystem, k: number): string {
  const key = `${seed}\0${eco}\0${k}`;
  let b = blockCache.get(key);
  if (b === undefined) {
    const rng = new Random(seed, 'pods-block', eco, k);
    b = (k < INSTALL_BLOCKS ? installBlock(rng, eco) : stackTrace(rng, eco)).join('\n');
    blockCache.set(key, b);
  }
  return b;
}

const version = (r: Random) => `${r.int(0, 9)}.${r.int(0, 30)}.${r.int(0, 40)}`;
const pkg = (r: Random) => (r.chance(0.3) ? `${word(r)}-${word(r)}` : word(r));

function installBlock(rng: Random, eco: Ecosystem): string[] {
  const n = rng.int(25, 90);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = pkg(rng);
    const v = version(rng);
    if (eco === 'node')
      lines.push(`npm http fetch GET 200 https://registry.npmjs.org/${p}/-/${p}-${v}.tgz ${rng.int(5, 300)}ms`);
    else if (eco === 'python') {
      lines.push(`Collecting ${p}==${v}`);
      lines.push(`  Downloading ${p}-${v}-py3-none-any.whl (${rng.int(10, 900)} kB)`);
    } else if (eco === 'go') lines.push(`go: downloading github.com/${word(rng)}/${p} v${v}`);
    else if (eco === 'java')
      lines.push(
        `Downloaded from central: https://repo.maven.apache.org/maven2/org/${word(rng)}/${p}/${v}/${p}-${v}.jar (${rng.int(3, 900)} kB at ${rng.int(1, 9)}.${rng.int(0, 9)} MB/s)`,
      );
    else
      lines.push(
        `${rng.pick(['deployment.apps', 'service', 'configmap', 'customresourcedefinition.apiextensions.k8s.io', 'role.rbac.authorization.k8s.io'])}/${p} ${rng.pick(['configured', 'unchanged', 'created'])}`,
      );
  }
  if (eco === 'node')
    lines.push(
      `added ${n * 3} packages, and audited ${n * 3 + 1} packages in ${rng.int(4, 60)}s`,
      'found 0 vulnerabilities',
    );
  if (eco === 'python')
    lines.push(`Successfully installed ${Array.from({ length: 12 }, () => `${pkg(rng)}-${version(rng)}`).join(' ')}`);
  return lines;
}

function stackTrace(rng: Random, eco: Ecosystem): string[] {
  const lines: string[] = [];
  const frames = rng.int(20, 60);
  const cls = () => `${word(rng)}.${word(rng)}.${word(rng)[0]!.toUpperCase()}${word(rng)}`;
  if (eco === 'java' || eco === 'kube') {
    lines.push(`Exception in thread "main" java.lang.IllegalStateException: ${freeText(rng)}`);
    for (let i = 0; i < frames; i++)
      lines.push(`\tat com.${cls()}.${word(rng)}(${word(rng)}.java:${rng.int(10, 900)})`);
    lines.push(`Caused by: java.io.IOException: ${freeText(rng)}`, `\t... ${rng.int(5, 40)} more`);
  } else if (eco === 'python') {
    lines.push('Traceback (most recent call last):');
    for (let i = 0; i < frames / 2; i++) {
      lines.push(
        `  File "/usr/local/lib/python3.11/site-packages/${word(rng)}/${word(rng)}.py", line ${rng.int(10, 900)}, in ${word(rng)}`,
      );
      lines.push(`    ${word(rng)} = self.${word(rng)}(${word(rng)}, ${word(rng)}=${word(rng)})`);
    }
    lines.push(`${rng.pick(['KeyError', 'ValueError', 'ConnectionError'])}: ${freeText(rng)}`);
  } else if (eco === 'go') {
    lines.push(`panic: ${freeText(rng)}`, '', 'goroutine 1 [running]:');
    for (let i = 0; i < frames / 2; i++) {
      lines.push(
        `github.com/${word(rng)}/${word(rng)}/pkg/${word(rng)}.(*${word(rng)}).${word(rng)}(0xc000${rng.hex(6)})`,
      );
      lines.push(`\t/go/src/github.com/${word(rng)}/pkg/${word(rng)}.go:${rng.int(10, 900)} +0x${rng.hex(3)}`);
    }
  } else {
    lines.push(`TypeError: ${freeText(rng)}`);
    for (let i = 0; i < frames; i++)
      lines.push(
        `    at ${word(rng)}.${word(rng)} (/app/node_modules/${pkg(rng)}/dist/${word(rng)}.js:${rng.int(1, 900)}:${rng.int(1, 80)})`,
      );
  }
  return lines;
}

/**
 * The messages of one pod, endless (the writer stops at the pod's size): a start, maybe an install block, then
 * template lines and free text, now and then a stack trace. Same seed and names → same messages.
 */
export function* podMessages(seed: number | string, kind: string, step: StepKind, rng: Random): Generator<Message> {
  const templates = templatesOf(kind, step);
  const main = templates[0]!.logger;
  yield { level: 'info', logger: main, text: `starting ${step.template} build=${rng.hex(7)} shard=${rng.int(0, 9)}` };
  if (rng.chance(0.75)) yield { block: block(seed, step.ecosystem, Math.floor(INSTALL_BLOCKS * rng.float() ** 2)) };
  for (;;) {
    const r = rng.float();
    if (r < 0.0025) {
      const k = INSTALL_BLOCKS + Math.floor((BLOCKS_PER_ECOSYSTEM - INSTALL_BLOCKS) * rng.float() ** 2);
      yield { level: 'error', logger: main, text: `${word(rng)} failed, stack follows` };
      yield { block: block(seed, step.ecosystem, k) };
    } else if (r < 0.0025 + FREE_TEXT_SHARE) {
      yield { level: rng.chance(0.8) ? 'info' : 'warn', logger: rng.pick(templates).logger, text: freeText(rng) };
    } else {
      // Zipf-like: the first templates of a step are its most frequent lines.
      const t = templates[Math.floor(templates.length * rng.float() ** 3)]!;
      yield { level: t.level, logger: t.logger, text: fill(t, rng) };
    }
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const pad3 = (n: number) => String(n).padStart(3, '0');

/** UTC offset (minutes) logfmt steps print their local time in, by step: some teams run clusters in other zones. */
function offsetOf(step: StepKind): number {
  return [0, 60, -300, 330][new Random('pods-offset', step.template).int(0, 3)]!;
}

/** One line in the step's dialect, at `ms` (epoch milliseconds); `micros` adds klog's microsecond digits. */
export function formatLine(step: StepKind, ms: number, micros: number, m: Exclude<Message, { block: string }>): string {
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  const millis = pad3(d.getUTCMilliseconds());
  const dialect: Dialect = step.dialect;
  switch (dialect) {
    case 'iso':
      return `${date}T${time}.${millis}Z ${m.level.toUpperCase().padEnd(5)} [${m.logger}] ${m.text}`;
    case 'pino': {
      const level = { debug: 20, info: 30, warn: 40, error: 50 }[m.level];
      return `{"level":${level},"time":${ms},"pid":1,"hostname":"${step.template}","name":"${m.logger}","msg":${JSON.stringify(m.text)}}`;
    }
    case 'json':
      return `{"ts":"${date}T${time}.${millis}Z","level":"${m.level}","logger":"${m.logger}","msg":${JSON.stringify(m.text)}}`;
    case 'logfmt': {
      const off = offsetOf(step);
      const l = new Date(ms + off * 60_000);
      const sign = off < 0 ? '-' : '+';
      const abs = Math.abs(off);
      const stamp =
        `${l.getUTCFullYear()}-${pad2(l.getUTCMonth() + 1)}-${pad2(l.getUTCDate())}T` +
        `${pad2(l.getUTCHours())}:${pad2(l.getUTCMinutes())}:${pad2(l.getUTCSeconds())}.${pad3(l.getUTCMilliseconds())}` +
        `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
      return `time=${stamp} level=${m.level} logger=${m.logger} msg=${JSON.stringify(m.text)}`;
    }
    case 'python':
      return `${date} ${time},${millis} ${m.level.toUpperCase()} ${m.logger}: ${m.text}`;
    case 'klog': {
      const mark = m.level === 'error' ? 'E' : m.level === 'warn' ? 'W' : 'I';
      return `${mark}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())} ${time}.${millis}${pad3(micros)}       1 ${m.logger.split('.')[0]}.go:${100 + ((m.logger.length * 37) % 800)}] ${m.text}`;
    }
    case 'golog':
      return `${date.replaceAll('-', '/')} ${time} ${m.text}`;
  }
}
