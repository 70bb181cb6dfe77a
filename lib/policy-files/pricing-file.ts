// Reads the pricing file (policies/pricing.yaml) from disk; parsing and cost live in the pure lib/policy/pricing.ts.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { parsePricing, type Pricing } from '../policy/pricing.ts';

export function loadPricing(file: string): Pricing {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('cannot read pricing file', { file }, { cause: err });
  }
  return parsePricing(text, file);
}
