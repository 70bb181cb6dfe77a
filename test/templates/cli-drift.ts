// Finds every `strata …` a template runs and parses it with the real yargs CLI, stopping before any handler runs.
import { buildCli } from '../../steps/cli.ts';
import type { Manifest } from './manifests.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Invocation {
  where: string;
  args: string[];
}

/** Placeholders become their declared default (so numbers and booleans stay typed) or a dummy word. */
function substitute(arg: string, defaults: Map<string, string>): string {
  return arg.replace(/\{\{\s*([^}]+?)\s*\}\}/g, (_m, ref: string) => {
    const name = ref.split('.').pop()!;
    return defaults.get(name) || (/uid|workflow/.test(name) ? 'example-0123' : '1');
  });
}

export function strataInvocations(manifests: Manifest[]): Invocation[] {
  const out: Invocation[] = [];
  for (const m of manifests) {
    if (m.kind === 'Deployment') {
      // The image's entrypoint is `strata`: args start with the subcommand.
      const pod = (
        m.spec as {
          template?: {
            spec?: { containers?: { name: string; image?: string; command?: string[]; args?: string[] }[] };
          };
        }
      ).template?.spec;
      for (const c of pod?.containers ?? []) {
        if (!c.command && c.image?.includes('strata') && c.args)
          out.push({ where: `${m.metadata.name}/${c.name}`, args: c.args });
      }
      continue;
    }
    const spec = (m.kind === 'CronWorkflow' ? (m.spec as Obj).workflowSpec : m.spec) as Obj | undefined;
    if (!spec || !Array.isArray(spec.templates)) continue;
    const defaults = new Map<string, string>();
    const params = isObj(spec.arguments) && Array.isArray(spec.arguments.parameters) ? spec.arguments.parameters : [];
    for (const p of params) if (isObj(p) && typeof p.value === 'string') defaults.set(String(p.name), p.value);
    for (const t of spec.templates.filter(isObj)) {
      const where = `${m.metadata.name}/${String(t.name)}`;
      const c = isObj(t.container) ? t.container : undefined;
      if (c && Array.isArray(c.command) && c.command[0] === 'strata') {
        out.push({
          where,
          args: [...c.command.slice(1), ...((c.args as string[]) ?? [])].map((a) => substitute(String(a), defaults)),
        });
      }
      const s = isObj(t.script) ? t.script : undefined;
      if (s && typeof s.source === 'string') {
        for (const line of s.source.split('\n')) {
          const words = line.trim().split(/\s+/);
          if (words[0] !== 'strata') continue;
          const end = words.findIndex((w) => /^(>|\||&&|\|\||;|2>)/.test(w));
          out.push({ where, args: words.slice(1, end < 0 ? undefined : end).map((a) => substitute(a, defaults)) });
        }
      }
    }
  }
  return out;
}

class Parsed extends Error {}

/** 'ok' when the CLI accepts the arguments (strict: unknown commands and flags fail), else yargs' message. */
export async function parseWithCli(args: string[]): Promise<string> {
  const cli = buildCli(args)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    // Runs after validation, before the handler: the command is never executed.
    .middleware(() => {
      throw new Parsed('ok');
    }, false);
  try {
    await cli.parseAsync();
    return 'no command ran';
  } catch (err) {
    return err instanceof Parsed ? 'ok' : (err as Error).message;
  }
}
