/**
 * A small CloudWatch Logs endpoint for tests: the AWS JSON 1.1 protocol (POST /, x-amz-target
 * Logs_20140328.GetLogEvents), with every request AND every response it sends checked against botocore's model of the
 * operation (test/fixtures/botocore/logs-GetLogEvents.json). A request the model rejects gets AWS's
 * InvalidParameterException and is listed in violations(), so a test can assert there were none.
 * Listens on 127.0.0.1 only and closes itself after maxLifetimeMs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./cli.js";

interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
}

export const LOGS_MODEL = JSON.parse(readFileSync(path.join(REPO_ROOT, "test/fixtures/botocore/logs-GetLogEvents.json"), "utf8")) as {
  metadata: { targetPrefix: string; jsonVersion: string };
  operations: Record<string, { input: { shape: string }; output: { shape: string }; errors: Array<{ shape: string }> }>;
  shapes: Record<string, Shape>;
};

/** Problems of `value` against a botocore shape (empty: valid). */
export function checkShape(shapeName: string, value: unknown, where = "$"): string[] {
  const shape = LOGS_MODEL.shapes[shapeName];
  if (shape === undefined) return [`${where}: unknown shape ${shapeName}`];
  const p: string[] = [];
  switch (shape.type) {
    case "structure": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return [`${where}: expected an object (${shapeName})`];
      const obj = value as Record<string, unknown>;
      for (const r of shape.required ?? []) if (obj[r] === undefined) p.push(`${where}.${r}: required`);
      for (const [k, v] of Object.entries(obj)) {
        const m = shape.members?.[k];
        if (m === undefined) p.push(`${where}.${k}: not a member of ${shapeName}`);
        else p.push(...checkShape(m.shape, v, `${where}.${k}`));
      }
      return p;
    }
    case "list":
      if (!Array.isArray(value)) return [`${where}: expected a list (${shapeName})`];
      return value.flatMap((v, i) => checkShape(shape.member!.shape, v, `${where}[${i}]`));
    case "string":
      if (typeof value !== "string") return [`${where}: expected a string (${shapeName})`];
      if (shape.min !== undefined && value.length < shape.min) p.push(`${where}: shorter than ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) p.push(`${where}: longer than ${shape.max}`);
      if (shape.pattern !== undefined && !new RegExp(`^(?:${shape.pattern})$`, "u").test(value)) p.push(`${where}: does not match ${shape.pattern}`);
      return p;
    case "integer":
    case "long":
      if (typeof value !== "number" || !Number.isInteger(value)) return [`${where}: expected an integer (${shapeName})`];
      if (shape.min !== undefined && value < shape.min) p.push(`${where}: below ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) p.push(`${where}: above ${shape.max}`);
      return p;
    case "boolean":
      return typeof value === "boolean" ? [] : [`${where}: expected a boolean (${shapeName})`];
    default:
      return [`${where}: shape type ${shape.type} not supported by the fake`];
  }
}

export type LogsFault = "AccessDenied" | "Throttling" | "ServiceUnavailable" | "hang";

export interface LogsCall {
  operation: string;
  input: Record<string, unknown>;
  status: number;
  errorType?: string;
  authorization: string;
}

export interface FakeLogs {
  url: string;
  /** Adds events to a stream (creating group and stream). */
  put(group: string, stream: string, messages: ReadonlyArray<string | { message: string; timestamp: number }>): void;
  /** Creates an empty group (so a missing stream is told apart from a missing group). */
  createGroup(group: string): void;
  /** Every request to this group fails this way (hang: never answered until close). */
  fault(group: string, fault: LogsFault | undefined): void;
  calls(): LogsCall[];
  violations(): string[];
  close(): Promise<void>;
}

export async function startFakeLogs(maxLifetimeMs = 60_000): Promise<FakeLogs> {
  const groups = new Map<string, Map<string, Array<{ timestamp: number; message: string; ingestionTime: number }>>>();
  const faults = new Map<string, LogsFault>();
  const calls: LogsCall[] = [];
  const violations: string[] = [];
  const sockets = new Set<Socket>();
  let clock = 1_700_000_000_000;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fake-logs", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (res: ServerResponse, call: LogsCall, status: number, type: string, message: string, messageKey = "message"): void => {
    call.status = status;
    call.errorType = type;
    send(res, status, { __type: type, [messageKey]: message });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.startsWith(`${LOGS_MODEL.metadata.targetPrefix}.`) ? target.slice(LOGS_MODEL.metadata.targetPrefix.length + 1) : target;
    const call: LogsCall = { operation, input: {}, status: 200, authorization: String(req.headers.authorization ?? "") };
    calls.push(call);
    const bad = (why: string) => {
      violations.push(`${operation || "?"}: ${why}`);
      error(res, call, 400, "InvalidParameterException", why);
    };
    if (req.method !== "POST" || req.url !== "/") return bad(`expected POST /, got ${req.method} ${req.url}`);
    if (req.headers["content-type"] !== `application/x-amz-json-${LOGS_MODEL.metadata.jsonVersion}`) return bad(`content-type ${req.headers["content-type"]}`);
    const op = LOGS_MODEL.operations[operation];
    if (op === undefined) return bad(`x-amz-target ${target} is not an operation this fake knows`);
    try {
      call.input = JSON.parse(raw || "{}") as Record<string, unknown>;
    } catch {
      return bad("body is not JSON");
    }
    const problems = checkShape(op.input.shape, call.input);
    const input = call.input as { logGroupName?: string; logGroupIdentifier?: string; logStreamName: string; limit?: number; startFromHead?: boolean; startTime?: number; endTime?: number };
    // The API reference: "You must include either logGroupIdentifier or logGroupName, but not both."
    if ((input.logGroupName === undefined) === (input.logGroupIdentifier === undefined)) problems.push("$: exactly one of logGroupName and logGroupIdentifier");
    if (problems.length > 0) return bad(problems.join("; "));
    const groupName = input.logGroupName ?? input.logGroupIdentifier!.replace(/^arn:[^:]+:logs:[^:]*:\d*:log-group:/, "").replace(/:\*$/, "");
    const fault = faults.get(groupName);
    if (fault === "hang") return; // never answered; close() ends the socket
    if (fault === "AccessDenied") {
      return error(res, call, 400, "AccessDeniedException", `User: arn:aws:sts::123456789012:assumed-role/jenkins/ci is not authorized to perform: logs:GetLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:${groupName}:log-stream:${input.logStreamName} because no identity-based policy allows the logs:GetLogEvents action`, "Message");
    }
    if (fault === "Throttling") return error(res, call, 400, "ThrottlingException", "Rate exceeded");
    if (fault === "ServiceUnavailable") return error(res, call, 500, "ServiceUnavailableException", "The service cannot complete the request.");
    const group = groups.get(groupName);
    if (group === undefined) return error(res, call, 400, "ResourceNotFoundException", "The specified log group does not exist.");
    const stream = group.get(input.logStreamName);
    if (stream === undefined) return error(res, call, 400, "ResourceNotFoundException", "The specified log stream does not exist.");
    const inRange = stream.filter((e) => (input.startTime === undefined || e.timestamp >= input.startTime) && (input.endTime === undefined || e.timestamp < input.endTime));
    const limit = input.limit ?? 10_000;
    // startFromHead false (the default): the newest page; events within a page are always oldest first.
    const page = input.startFromHead === true ? inRange.slice(0, limit) : inRange.slice(Math.max(0, inRange.length - limit));
    const body = { events: page, nextForwardToken: `f/${String(inRange.length).padStart(56, "0")}/s`, nextBackwardToken: `b/${String(Math.max(0, inRange.length - page.length)).padStart(56, "0")}/s` };
    const out = checkShape(op.output.shape, body);
    if (out.length > 0) violations.push(`fake's own response: ${out.join("; ")}`);
    send(res, 200, body);
  };

  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => handle(req, res, raw));
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const lifetime = setTimeout(() => void close(), maxLifetimeMs);
  lifetime.unref();
  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  }
  const ensure = (group: string) => {
    if (!groups.has(group)) groups.set(group, new Map());
    return groups.get(group)!;
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    put(group, stream, messages) {
      const g = ensure(group);
      if (!g.has(stream)) g.set(stream, []);
      for (const m of messages) {
        const e = typeof m === "string" ? { message: m, timestamp: (clock += 1000) } : m;
        g.get(stream)!.push({ ...e, ingestionTime: e.timestamp + 200 });
      }
      g.get(stream)!.sort((a, b) => a.timestamp - b.timestamp);
    },
    createGroup: (group) => void ensure(group),
    fault: (group, f) => (f === undefined ? faults.delete(group) : faults.set(group, f)),
    calls: () => [...calls],
    violations: () => [...violations],
    close,
  };
}
