// The port a source reads Argo's artifact repository through: keys and buckets as Argo recorded them.
import type { Readable } from 'node:stream';

/** Reads Argo's artifact repository (S3/MinIO); keys are as Argo recorded them. */
export interface ArtifactReader {
  readonly description: string;
  /** Size in bytes, or undefined when the object is gone (artifact GC, lifecycle rules). */
  size(bucket: string | undefined, key: string): Promise<number | undefined>;
  open(bucket: string | undefined, key: string): Promise<Readable>;
}
