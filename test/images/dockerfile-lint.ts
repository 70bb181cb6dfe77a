// A small structural Dockerfile check (hadolint is not in Debian): pinned bases, non-root, no remote ADD, multi-stage.

export interface Instruction {
  line: number;
  op: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) out.push({ line: start + 1, op: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

export function lintDockerfile(text: string): string[] {
  const problems: string[] = [];
  const ins = parseDockerfile(text);
  const froms = ins.filter((i) => i.op === 'FROM');
  const stages = new Set(froms.map((f) => /\bAS\s+(\S+)/i.exec(f.args)?.[1]?.toLowerCase()).filter(Boolean));
  if (froms.length < 2) problems.push('not a multi-stage build (one FROM)');
  for (const f of froms) {
    const image = f.args.split(/\s+/).find((w) => !w.startsWith('--'))!;
    if (stages.has(image.toLowerCase())) continue;
    const tag = /:([^@/]+)(@sha256:[0-9a-f]{64})?$/.exec(image);
    if (!tag && !image.includes('@sha256:'))
      problems.push(`line ${f.line}: FROM ${image} is not pinned (no tag or digest)`);
    else if (tag && /^(latest|lts|current|slim|alpine)$/.test(tag[1]!))
      problems.push(`line ${f.line}: FROM ${image} uses a moving tag`);
    else if (tag && !/\d/.test(tag[1]!)) problems.push(`line ${f.line}: FROM ${image} tag names no version`);
  }
  for (const i of ins.filter((x) => x.op === 'ADD')) {
    if (/https?:\/\//.test(i.args))
      problems.push(`line ${i.line}: ADD of a URL (download in a RUN with a checksum, or COPY)`);
    else problems.push(`line ${i.line}: ADD where COPY would do`);
  }
  // USER of the final stage decides what the container runs as.
  const lastFrom = ins.lastIndexOf(froms.at(-1)!);
  const users = ins.slice(lastFrom).filter((i) => i.op === 'USER');
  const user = users.at(-1)?.args.split(':')[0];
  if (!user) problems.push('final stage sets no USER (runs as root)');
  else if (user === 'root' || user === '0') problems.push(`final stage runs as ${user}`);
  for (const i of ins.filter((x) => x.op === 'RUN')) {
    if (/apt-get install/.test(i.args) && !/--no-install-recommends/.test(i.args))
      problems.push(`line ${i.line}: apt-get install without --no-install-recommends`);
    if (/curl[^|]*\|\s*(ba)?sh/.test(i.args)) problems.push(`line ${i.line}: pipes a download into a shell`);
  }
  if (ins.some((i) => i.op === 'MAINTAINER')) problems.push('MAINTAINER is deprecated (use a LABEL)');
  return problems;
}
