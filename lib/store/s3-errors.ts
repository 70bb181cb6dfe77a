// Turns AWS SDK and network failures into Strata's store errors, one clear line each.
import {
  AlreadyExistsError,
  ArchivedObjectError,
  IntegrityError,
  NotFoundError,
  StoreError,
  StrataError,
} from '../errors.ts';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** The network error code (ECONNREFUSED, …) anywhere in an error's cause chain. */
export function networkCode(err: unknown): string | undefined {
  for (let e = err as SdkError | undefined, depth = 0; e && depth < 5; e = e.cause as SdkError, depth++) {
    if (e.code && NETWORK_CODES.has(e.code)) return e.code;
    if (e.name === 'TimeoutError') return 'timeout';
    const errors = (e as { errors?: SdkError[] }).errors; // AggregateError from happy-eyeballs connects
    const inner = errors?.find((x) => x.code && NETWORK_CODES.has(x.code));
    if (inner) return inner.code;
  }
  return undefined;
}

export interface S3ErrorContext {
  bucket: string;
  /** Full object key (with prefix), when the call was about one object. */
  key?: string;
  endpoint: string;
}

export function mapS3Error(err: unknown, ctx: S3ErrorContext): StrataError {
  if (err instanceof StrataError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const where = ctx.key === undefined ? `s3://${ctx.bucket}` : `s3://${ctx.bucket}/${ctx.key}`;
  const opts = { cause: err };
  const net = networkCode(err);
  if (net) return new StoreError(`cannot reach S3 endpoint ${ctx.endpoint}: ${net}`, undefined, opts);
  switch (name) {
    case 'NoSuchBucket':
      return new StoreError(`bucket "${ctx.bucket}" does not exist (at ${ctx.endpoint})`, undefined, opts);
    case 'NoSuchKey':
    case 'NotFound':
    case 'NoSuchVersion':
      return new NotFoundError(`${where}: no such object`, undefined, opts);
    case 'AccessDenied':
    case 'Forbidden':
      return new StoreError(`${where}: access denied (check credentials and object lock)`, undefined, opts);
    case 'InvalidAccessKeyId':
      return new StoreError(`${where}: access key not recognised (check credentials)`, undefined, opts);
    case 'SignatureDoesNotMatch':
      return new StoreError(`${where}: signature does not match (check the secret access key)`, undefined, opts);
    case 'PreconditionFailed':
    case 'ConditionalRequestConflict':
      return new AlreadyExistsError(`${where}: object already exists`, undefined, opts);
    case 'BadDigest':
    case 'InvalidDigest':
    case 'XAmzContentSHA256Mismatch':
    case 'InvalidChecksum':
    case 'XAmzContentChecksumMismatch':
      return new IntegrityError(`${where}: checksum mismatch, the server rejected the body`, undefined, opts);
    case 'InvalidObjectState':
      return new ArchivedObjectError(
        `${where}: object is archived and must be restored before it can be read`,
        undefined,
        opts,
      );
    case 'InvalidRange':
      return new StoreError(`${where}: requested range is outside the object`, undefined, opts);
  }
  if (status === 404 && ctx.key !== undefined) return new NotFoundError(`${where}: no such object`, undefined, opts);
  if (status === 403) return new StoreError(`${where}: access denied (check credentials)`, undefined, opts);
  const detail = e.message && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return new StoreError(`${where}: ${name}${status ? ` (HTTP ${status})` : ''}${detail}`, undefined, opts);
}

/** Worth another try: throttling, 5xx, timeouts and dropped connections. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof StrataError && err.cause !== undefined) return isRetryable(err.cause);
  if (networkCode(err)) return true;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return /Throttl|SlowDown|RequestTimeout|InternalError|ServiceUnavailable|Premature close|aborted|socket hang up/i.test(
    `${e.name ?? ''} ${e.code ?? ''} ${e.message ?? ''}`,
  );
}
