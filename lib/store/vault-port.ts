// The deep tier's vault port (a Glacier vault): what lib/tier/vault.ts needs; lib/store/s3-glacier-vault.ts implements it.
import type { RestoreTier } from './store.ts';

/** What the tier engine needs from a vault. Archive ids are the vault's; Strata keeps them in its records. */
export interface ArchiveVault {
  /** e.g. `glacier://strata-deep` */
  readonly url: string;
  /** Stores the bytes; the vault checks them against `sha256` (its tree hash) and returns the archive id. */
  upload(body: Buffer, description: string): Promise<string>;
  /** Starts a retrieval job for one archive; returns the job id. */
  requestRetrieval(archiveId: string, tier: RestoreTier): Promise<string>;
  /** The job's state; a job the vault no longer knows (expired) is `gone`. */
  retrievalState(jobId: string): Promise<'in-progress' | 'ready' | 'failed' | 'gone'>;
  retrievalOutput(jobId: string): Promise<Buffer>;
  deleteArchive(archiveId: string): Promise<void>;
}
