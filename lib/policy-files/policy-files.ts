// Reads policy sources from files and directories (recursively, *.yaml/*.yml/*.json, in name order).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from '../errors.ts';
import type { PolicySource } from '../policy/configmap.ts';

const POLICY_FILE = /\.(ya?ml|json)$/;

/** Files first as given; directories expand to their policy files in sorted order. Unreadable paths throw InputError. */
export function readPolicySources(paths: readonly string[], cwd = process.cwd()): PolicySource[] {
  const out: PolicySource[] = [];
  const visit = (p: string, explicit: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError(`cannot read policy source`, { file: p });
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        // A mounted ConfigMap holds each key twice more through `..data` and `..<timestamp>` links: skip dot-entries.
        if (e.startsWith('.')) continue;
        const child = join(p, e);
        if (statSync(child).isDirectory()) {
          // Policy unit tests and pricing live beside the policies but are not policies.
          if (e !== 'tests') visit(child, false);
        } else if (POLICY_FILE.test(e) && e !== 'schema.json' && e !== 'pricing.yaml') visit(child, false);
      }
    } else if (explicit || POLICY_FILE.test(p)) {
      out.push({ name: relative(cwd, p) || p, text: readFileSync(p, 'utf8') });
    }
  };
  for (const p of paths) visit(p, true);
  return out;
}
