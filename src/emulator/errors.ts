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
