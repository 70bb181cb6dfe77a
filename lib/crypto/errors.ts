// Errors of client-side encryption.
import { StrataError } from '../errors.ts';

/** A data key that cannot be had: its KEK is destroyed (erased tenant), unreachable, or refuses. */
export class KeyUnavailableError extends StrataError {}
