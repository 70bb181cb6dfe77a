// COMPLIANCE retention written with the archive itself: a compliance class's packs are locked to its floor before
// its manifest is committed, and the manifest is written locked, so no moment exists where the store would allow
// an early delete (lockUntil, lib/store/compliance-lock.ts). The audit log's segments and heads are locked the same
// way (lib/audit/store-log.ts).
import { packKey } from './repository.ts';

export const packKeysOf = (group: string, packs: readonly string[]) => packs.map((p) => packKey(group, p));
