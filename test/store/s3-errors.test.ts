// Mapping of S3 and network failures to Strata errors: the class decides the exit code and what callers retry.
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ArchivedObjectError,
  describeError,
  IntegrityError,
  NotFoundError,
  StoreError,
} from '../../lib/errors.ts';
import { isRetryable, mapS3Error } from '../../lib/store/s3-errors.ts';

const ctx = { bucket: 'b', key: 'p/k', endpoint: 'http://127.0.0.1:9000' };
const sdk = (name: string, status: number, message = '') =>
  Object.assign(new Error(message || name), { name, $metadata: { httpStatusCode: status } });

describe('mapS3Error', () => {
  it.each([
    ['NoSuchKey', 404, NotFoundError, 's3://b/p/k: no such object'],
    ['NoSuchBucket', 404, StoreError, 'bucket "b" does not exist (at http://127.0.0.1:9000)'],
    ['AccessDenied', 403, StoreError, 's3://b/p/k: access denied (check credentials and object lock)'],
    ['InvalidAccessKeyId', 403, StoreError, 's3://b/p/k: access key not recognised (check credentials)'],
    ['PreconditionFailed', 412, AlreadyExistsError, 's3://b/p/k: object already exists'],
    ['XAmzContentChecksumMismatch', 400, IntegrityError, 's3://b/p/k: checksum mismatch, the server rejected the body'],
    ['BadDigest', 400, IntegrityError, 's3://b/p/k: checksum mismatch, the server rejected the body'],
    [
      'InvalidObjectState',
      403,
      ArchivedObjectError,
      's3://b/p/k: object is archived and must be restored before it can be read',
    ],
    ['SlowDown', 503, StoreError, 's3://b/p/k: SlowDown (HTTP 503)'],
  ])('%s (HTTP %i) → %o', (name, status, cls, line) => {
    const mapped = mapS3Error(sdk(name, status), ctx);
    expect(mapped).toBeInstanceOf(cls);
    expect(describeError(mapped)).toBe(line);
  });

  it('names the endpoint for network failures, found anywhere in the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const wrapped = Object.assign(new Error('aggregate'), { errors: [refused] });
    expect(describeError(mapS3Error(new Error('x', { cause: wrapped }), ctx))).toBe(
      'cannot reach S3 endpoint http://127.0.0.1:9000: ECONNREFUSED',
    );
  });

  it('retries throttling, 5xx and dropped connections, not client errors', () => {
    expect(isRetryable(sdk('SlowDown', 503))).toBe(true);
    expect(isRetryable(sdk('InternalError', 500))).toBe(true);
    expect(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(sdk('AccessDenied', 403))).toBe(false);
    expect(isRetryable(sdk('NoSuchKey', 404))).toBe(false);
  });
});
