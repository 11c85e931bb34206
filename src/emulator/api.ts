/** One AWS API call: the call log record, fault injection, then the service's handler. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Core } from "./core.js";
import { ECR_OPERATIONS } from "./ecr/api.js";
import { ECS_OPERATIONS } from "./ecs/api/index.js";
import { AwsApiError } from "./errors.js";
import type { FaultDecision } from "./faults.js";
import { LOGS_OPERATIONS } from "./logs/api.js";
import { accountOf, isMutating, regionOf, send, sendError, TARGETS, type ServiceName } from "./protocol.js";
import type { CallRecord, ResponseRecord } from "./types.js";

type Handler = (state: never, input: Record<string, unknown>, ctx: never) => Record<string, unknown>;
const TABLES = { ecs: ECS_OPERATIONS, ecr: ECR_OPERATIONS, logs: LOGS_OPERATIONS } as unknown as Record<ServiceName, Record<string, Handler>>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Call {
  core: Core;
  req: IncomingMessage;
  res: ServerResponse;
  service: ServiceName;
  op: string;
  record: CallRecord;
  onResponse: ((r: ResponseRecord) => void) | undefined;
}

function answer(c: Call, status: number, out: unknown): void {
  c.record.status = status;
  // What the client receives: undefined members are not on the wire.
  if (c.onResponse) c.onResponse({ service: c.service, operation: c.op, status, body: JSON.parse(JSON.stringify(out)) as unknown });
  send(c.res, status, out);
}

function fail(c: Call, e: AwsApiError): void {
  c.record.status = e.status;
  c.record.errorType = e.type;
  c.onResponse?.({ service: c.service, operation: c.op, status: e.status, body: { __type: e.type, message: e.message } });
  sendError(c.res, e);
}

/** Applies a fault; true when the call is answered (or deliberately left unanswered) by it. */
async function injectFault(c: Call, decision: FaultDecision): Promise<boolean> {
  if (decision.rule !== undefined) c.record.faultRule = decision.rule;
  if (decision.latencyMs > 0) await sleep(decision.latencyMs);
  if (decision.kind === "drop") {
    c.record.status = 0;
    c.record.errorType = "ConnectionDropped";
    c.req.socket.destroy();
    return true;
  }
  if (decision.kind === "hang") {
    // No answer: the client's own timeout ends it, or hangMs, or close().
    c.record.status = 0;
    c.record.errorType = "Hung";
    if (decision.hangMs !== undefined) setTimeout(() => c.req.socket.destroy(), decision.hangMs).unref();
    return true;
  }
  if (decision.kind === "error") {
    fail(c, decision.error);
    return true;
  }
  return false;
}

/** Runs the operation in the caller's account and region, after the simulation caught up with now. */
function dispatch(c: Call, input: Record<string, unknown>): Record<string, unknown> | undefined {
  const { core, service, op } = c;
  const handler = TABLES[service][op];
  if (!handler) return undefined;
  const now = core.tick();
  const p = core.world.partition(c.record.account, c.record.region);
  const state = service === "ecs" ? p.ecs : service === "ecr" ? p.ecr : p.logs;
  const ctx = service === "ecs" ? { now, view: core.consistency.picker(p.ecs, op, now) } : { now, url: core.url };
  core.consistency.beforeCall(p.ecs, service, op, input, now);
  return handler(state as never, input, ctx as never);
}

export async function handleApi(core: Core, req: IncomingMessage, res: ServerResponse, target: string, body: string, onResponse?: (r: ResponseRecord) => void): Promise<void> {
  const dot = target.lastIndexOf(".");
  const prefix = target.slice(0, dot);
  const op = target.slice(dot + 1);
  const service: ServiceName = TARGETS[prefix as keyof typeof TARGETS] ?? "ecs";
  const record: CallRecord = {
    seq: ++core.seq,
    time: new Date(core.clock.now()).toISOString(),
    wallTime: new Date(core.clock.wallNow()).toISOString(),
    service,
    operation: op,
    mutating: isMutating(op),
    input: body,
    status: 200,
    region: regionOf(req) ?? core.defaultRegion,
    account: accountOf(req) ?? core.account,
  };
  core.callLog.push(record);
  const c: Call = { core, req, res, service, op, record, onResponse };
  let input: unknown;
  try {
    input = body === "" ? {} : JSON.parse(body);
    record.input = input;
  } catch {
    return fail(c, new AwsApiError("SerializationException", "Request body is not valid JSON."));
  }
  if (!(prefix in TARGETS)) return fail(c, new AwsApiError("UnknownOperationException", `Unknown target ${target}.`));
  const obj = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  if (await injectFault(c, core.faults.decide(op, service, obj))) return;
  try {
    const out = dispatch(c, obj);
    if (out === undefined) return fail(c, new AwsApiError("UnknownOperationException", `Operation ${op} is not supported by the emulator.`));
    answer(c, 200, out);
  } catch (error) {
    if (error instanceof AwsApiError) return fail(c, error);
    core.log(`emulator: ${op} failed: ${(error as Error).stack ?? String(error)}`);
    return fail(c, new AwsApiError("ServerException", `Internal emulator error: ${(error as Error).message}`, 500));
  }
}
