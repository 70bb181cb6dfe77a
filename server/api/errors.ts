// HTTP-facing errors: each carries its status and, for bad input, the parameter at fault.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A read of data in a cold storage class (409): what to do about it is a restore job, which thaws it first. */
export const COLD_MESSAGE =
  "this archive's data is in a cold storage class (GLACIER, DEEP_ARCHIVE) and cannot be read now: start a restore " +
  'job (POST /api/v1/restores), which thaws it first';

export class BadRequest extends HttpError {
  constructor(message: string, field?: string) {
    super(400, message, field);
  }
}
