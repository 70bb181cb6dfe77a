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

export class BadRequest extends HttpError {
  constructor(message: string, field?: string) {
    super(400, message, field);
  }
}
