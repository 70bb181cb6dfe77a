// Parses a Kubernetes-style label selector (`k=v,k!=v,k in (a,b),k notin (a),k,!k`) into catalog requirements.
import type { LabelRequirement } from '../../lib/catalog/catalog.ts';
import { BadRequest } from './errors.ts';

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas outside parentheses. */
function requirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out.map((s) => s.trim());
}

function checkKey(key: string, part: string): string {
  if (key.length > 316 || !KEY.test(key)) throw bad(`"${key}" is not a label key`, part);
  return key;
}

function checkValue(value: string, part: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw bad(`"${value}" is not a label value`, part);
  return value;
}

function bad(what: string, part: string): BadRequest {
  return new BadRequest(`labelSelector: ${what} in requirement "${part}"`, 'labelSelector');
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (!selector.trim()) return [];
  return requirements(selector).map((part) => {
    if (!part) throw bad('empty requirement', part);
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (set) {
      const values = set[3]!.split(',').map((v) => checkValue(v.trim(), part));
      return { key: checkKey(set[1]!, part), op: set[2] as 'in' | 'notin', values };
    }
    const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (cmp) {
      const op = cmp[2] === '!=' ? 'notin' : 'in';
      return { key: checkKey(cmp[1]!, part), op, values: [checkValue(cmp[3]!.trim(), part)] };
    }
    if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), part), op: 'absent' };
    return { key: checkKey(part, part), op: 'exists' };
  });
}
