// S3 replication configuration for users who prefer the server to copy the archive (PutBucketReplication): one rule
// over Strata's prefix, delete markers not replicated (deletions stay with Strata: `strata replicate --prune`).
// Pure. Server-side replication copies whole prefixes and keeps keys; packs are shared and named by content, so it
// cannot leave out one workflow: with residency rules, any workflow that may not live at the destination refuses it.
import { ConfigError } from '../errors.ts';

export interface ReplicationConfiguration {
  Role: string;
  Rules: Array<{
    ID: string;
    Priority: number;
    Status: 'Enabled';
    Filter: { Prefix: string };
    DeleteMarkerReplication: { Status: 'Disabled' };
    Destination: { Bucket: string };
  }>;
}

export function replicationConfiguration(
  source: { bucket: string; prefix: string },
  destination: { bucket: string; prefix: string },
  roleArn: string,
  refused: ReadonlyArray<{ workflow: string; why: string }> = [],
): ReplicationConfiguration {
  if (destination.prefix !== source.prefix) {
    throw new ConfigError(
      `--emit-replication: S3 replication keeps keys, so the replica's prefix must be the archive's ("${source.prefix}"), not "${destination.prefix}"`,
    );
  }
  if (destination.bucket === source.bucket) throw new ConfigError('--emit-replication: the replica is the archive');
  if (refused.length) {
    throw new ConfigError(
      `--emit-replication: ${refused.length} workflow(s) may not live in s3://${destination.bucket} (first: ${refused[0]!.workflow}: ${refused[0]!.why}); ` +
        'server-side replication copies whole prefixes: use strata replicate, which leaves them out',
    );
  }
  return {
    Role: roleArn,
    Rules: [
      {
        ID: 'strata-archive',
        Priority: 1,
        Status: 'Enabled',
        Filter: { Prefix: source.prefix },
        DeleteMarkerReplication: { Status: 'Disabled' },
        Destination: { Bucket: `arn:aws:s3:::${destination.bucket}` },
      },
    ],
  };
}
