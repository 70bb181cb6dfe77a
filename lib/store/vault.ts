// Opens the deep tier's vault adapter on demand
// (the AWS SDK is loaded only by commands that use a vault).
import type { S3Config } from '../config/config.ts';
import type { ArchiveVault } from './vault-port.ts';

/** `glacier://<vault>`, with the S3 settings' region, endpoint and credentials. */
export async function openVault(url: string, s3: S3Config): Promise<ArchiveVault> {
  const { GlacierVault } = await import('./s3-glacier-vault.ts');
  return new GlacierVault(url, s3);
}
