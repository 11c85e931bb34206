/**
 * The AWS JSON 1.1 wire protocol as the SDKs speak it: `POST /` with `x-amz-target: <prefix>.<Operation>`, JSON in and
 * out, errors as `{"__type": ..., "message": ...}` with the `x-amzn-errortype` header.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AwsApiError } from "./errors.js";

export const TARGETS = {
  AmazonEC2ContainerServiceV20141113: "ecs",
  AmazonEC2ContainerRegistry_V20150921: "ecr",
  Logs_20140328: "logs",
} as const;

export type ServiceName = (typeof TARGETS)[keyof typeof TARGETS];

export const JSON_11 = "application/x-amz-json-1.1";

const MUTATING_RE = /^(Create|Register|Deregister|Update|Put|Delete|BatchDelete|Stop|Start|Run|Tag|Untag|Submit|Set|Upload|Complete|Initiate|Replicate)/;

export function isMutating(operation: string): boolean {
  return MUTATING_RE.test(operation);
}

/** The region of the request's SigV4 credential scope. */
export function regionOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== "string") return undefined;
  return /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\//.exec(auth)?.[1];
}

/** An access key id of exactly 12 digits names the account (an emulator convention); otherwise the default account. */
export function accountOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== "string") return undefined;
  return /Credential=(\d{12})\//.exec(auth)?.[1];
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function send(res: ServerResponse, status: number, body: unknown, contentType = JSON_11): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: AwsApiError): void {
  res.setHeader("x-amzn-errortype", e.type);
  send(res, e.status, { __type: e.type, message: e.message });
}
