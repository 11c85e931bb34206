/** An AWS-style API error: serialised as HTTP `status` with `{"__type": name, "message": ...}`. */
export class AwsApiError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = "AwsApiError";
    this.type = type;
    this.status = status;
  }
}

export const invalidParam = (message: string): AwsApiError => new AwsApiError("InvalidParameterException", message);
export const clientError = (message: string): AwsApiError => new AwsApiError("ClientException", message);

/** A control-API action that cannot run: HTTP `status` (400 bad request, 404 no such target, 409 does not apply). */
export class ActionError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
