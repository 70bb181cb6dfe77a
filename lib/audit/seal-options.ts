// The sealer's options as the Strata config gives them: the key that signs tree heads, and how long segments and
// heads are kept under COMPLIANCE retention.
import type { StrataConfig } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { parseDuration } from '../policy/duration.ts';
import { loadSigningKey } from './signing-key.ts';
import type { SealOptions } from './store-log.ts';

export function sealOptionsOf(audit: StrataConfig['audit']): SealOptions {
  const retainFor = audit.retainFor === undefined ? undefined : parseDuration(audit.retainFor);
  if (audit.retainFor !== undefined && !retainFor)
    throw new ConfigError(`audit.retainFor: "${audit.retainFor}" is not a duration (e.g. 7y, 400d)`);
  return {
    ...(audit.signingKey && { signingKey: loadSigningKey(audit.signingKey) }),
    ...(retainFor && { retainFor }),
  };
}
