// Cluster API failures with the HTTP status the caller decides on (404 absent, 409 conflict, 410 expired watch).
import { ClusterError } from '../errors.ts';

export class ClusterStatusError extends ClusterError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}

/** The watch's resourceVersion is too old (HTTP 410 Gone): list again, then watch from the new version. */
export class WatchExpiredError extends ClusterStatusError {
  constructor(message: string) {
    super(410, `watch workflows: ${message}`);
  }
}
