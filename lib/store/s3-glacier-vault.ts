// The Glacier vault adapter of the deep tier's port (lib/store/vault.ts, used by lib/tier/vault.ts), over @aws-sdk/client-glacier: one archive
// per pack (single-part upload, SHA-256 tree hash sent for the service to check), archive-retrieval jobs with
// Expedited/Standard/Bulk tiers, deletion. `glacier://<vault>` names it; S3 settings give region and endpoint.
import { createHash } from 'node:crypto';
import {
  DeleteArchiveCommand,
  DescribeJobCommand,
  GetJobOutputCommand,
  GlacierClient,
  InitiateJobCommand,
  UploadArchiveCommand,
} from '@aws-sdk/client-glacier';
import { ConfigError, StoreError } from '../errors.ts';
import type { RestoreTier } from './store.ts';
import type { S3Config } from '../config/config.ts';
import type { ArchiveVault } from './vault-port.ts';

const MiB = 1024 * 1024;

/** Glacier's SHA-256 tree hash: SHA-256 of each MiB, then pairwise up to one root (hex). */
export function treeHash(body: Buffer): string {
  let level: Buffer[] = [];
  for (let i = 0; i < Math.max(body.length, 1); i += MiB)
    level.push(
      createHash('sha256')
        .update(body.subarray(i, i + MiB))
        .digest(),
    );
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(
        i + 1 < level.length
          ? createHash('sha256')
              .update(level[i]!)
              .update(level[i + 1]!)
              .digest()
          : level[i]!,
      );
    level = next;
  }
  return level[0]!.toString('hex');
}

/** Single-part uploads only: Glacier's limit for one UploadArchive request. */
const MAX_SINGLE_UPLOAD = 4 * 1024 * MiB;

export function parseVaultUrl(url: string): string {
  const m = /^glacier:\/\/([A-Za-z0-9._-]{1,255})\/?$/.exec(url);
  if (!m) throw new ConfigError(`vault URL "${url}" is not glacier://<vault name>`);
  return m[1]!;
}

export class GlacierVault implements ArchiveVault {
  readonly url: string;
  private readonly client: GlacierClient;
  private readonly vault: string;

  constructor(
    url: string,
    s3: Pick<S3Config, 'region' | 'endpoint' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'maxAttempts'>,
  ) {
    this.vault = parseVaultUrl(url);
    this.url = `glacier://${this.vault}`;
    this.client = new GlacierClient({
      region: s3.region,
      endpoint: s3.endpoint,
      maxAttempts: s3.maxAttempts,
      credentials:
        s3.accessKeyId && s3.secretAccessKey
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, sessionToken: s3.sessionToken }
          : undefined,
    });
  }

  private fail(err: unknown, what: string): StoreError {
    const e = err as { name?: string; message?: string };
    return new StoreError(`${this.url}: ${what}: ${e.name ?? 'error'}${e.message ? `: ${e.message}` : ''}`, undefined, {
      cause: err,
    });
  }

  async upload(body: Buffer, description: string): Promise<string> {
    if (body.length > MAX_SINGLE_UPLOAD) throw new StoreError(`${this.url}: ${description}: larger than one upload`);
    try {
      const out = await this.client.send(
        new UploadArchiveCommand({
          accountId: '-',
          vaultName: this.vault,
          archiveDescription: description.slice(0, 1024),
          checksum: treeHash(body),
          body,
        }),
      );
      if (!out.archiveId) throw new Error('no archive id in the answer');
      return out.archiveId;
    } catch (err) {
      throw this.fail(err, `upload of ${description}`);
    }
  }

  async requestRetrieval(archiveId: string, tier: RestoreTier): Promise<string> {
    try {
      const out = await this.client.send(
        new InitiateJobCommand({
          accountId: '-',
          vaultName: this.vault,
          jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: tier },
        }),
      );
      if (!out.jobId) throw new Error('no job id in the answer');
      return out.jobId;
    } catch (err) {
      throw this.fail(err, `retrieval of ${archiveId}`);
    }
  }

  async retrievalState(jobId: string): Promise<'in-progress' | 'ready' | 'failed' | 'gone'> {
    try {
      const out = await this.client.send(new DescribeJobCommand({ accountId: '-', vaultName: this.vault, jobId }));
      if (out.StatusCode === 'Failed') return 'failed';
      return out.Completed ? 'ready' : 'in-progress';
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return 'gone';
      throw this.fail(err, `job ${jobId}`);
    }
  }

  async retrievalOutput(jobId: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetJobOutputCommand({ accountId: '-', vaultName: this.vault, jobId }));
      return Buffer.from(await out.body!.transformToByteArray());
    } catch (err) {
      throw this.fail(err, `output of job ${jobId}`);
    }
  }

  async deleteArchive(archiveId: string): Promise<void> {
    try {
      await this.client.send(new DeleteArchiveCommand({ accountId: '-', vaultName: this.vault, archiveId }));
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return;
      throw this.fail(err, `delete of ${archiveId}`);
    }
  }
}
