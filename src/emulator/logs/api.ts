/**
 * The CloudWatch Logs API surface (Logs_20140328.*) for awslogs streams: CreateLogGroup, DescribeLogGroups,
 * DescribeLogStreams, GetLogEvents, FilterLogEvents. Timestamps are epoch milliseconds, as the Logs API has them.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html
 */
import { AwsApiError, invalidParam } from "../errors.js";
import { arr, bool, num, str } from "../util.js";
import type { LogEvent, LogGroup, LogsState, LogStream } from "./state.js";

export interface LogsCtx {
  now: number;
}

const notFound = (what: "group" | "stream"): AwsApiError => new AwsApiError("ResourceNotFoundException", `The specified log ${what} does not exist.`);

/** logGroupName or logGroupIdentifier (name or ARN), not both. */
function groupOf(logs: LogsState, input: Record<string, unknown>): LogGroup {
  const name = str(input.logGroupName);
  const ident = str(input.logGroupIdentifier);
  if (name !== undefined && ident !== undefined) throw invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  const ref = name ?? ident?.replace(/^arn:aws[a-z-]*:logs:[^:]*:\d*:log-group:/, "").replace(/:\*$/, "");
  if (ref === undefined || ref === "") throw invalidParam("Either logGroupName or logGroupIdentifier must be specified.");
  const g = logs.groups.get(ref);
  if (!g) throw notFound("group");
  return g;
}

function limitOf(v: unknown, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = num(v);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > max) throw invalidParam(`1 validation error detected: Value '${String(v)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${max}`);
  return n;
}

function offsetOf(token: unknown): number {
  if (token === undefined) return 0;
  const m = typeof token === "string" ? /^o\/(\d+)$/.exec(token) : null;
  if (!m) throw invalidParam("The specified nextToken is invalid.");
  return Number(m[1]);
}

function streamJson(logs: LogsState, g: LogGroup, s: LogStream): Record<string, unknown> {
  const first = s.events[0];
  const last = s.events[s.events.length - 1];
  return {
    logStreamName: s.name,
    creationTime: s.createdAt,
    ...(first ? { firstEventTimestamp: first.timestamp, lastEventTimestamp: last!.timestamp, lastIngestionTime: last!.ingestionTime } : {}),
    arn: `${logs.groupArn(g)}:log-stream:${s.name}`,
    storedBytes: 0,
  };
}

function createLogGroup(logs: LogsState, input: Record<string, unknown>, ctx: LogsCtx): Record<string, unknown> {
  const name = str(input.logGroupName);
  if (name === undefined || !/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) throw invalidParam("1 validation error detected: Value at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
  if (logs.groups.has(name)) throw new AwsApiError("ResourceAlreadyExistsException", "The specified log group already exists");
  logs.createGroup(name, ctx.now);
  return {};
}

function describeLogGroups(logs: LogsState, input: Record<string, unknown>): Record<string, unknown> {
  const prefix = str(input.logGroupNamePrefix) ?? "";
  const limit = limitOf(input.limit, 50, 50);
  const all = [...logs.groups.values()].filter((g) => g.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
  const from = offsetOf(input.nextToken);
  const page = all.slice(from, from + limit);
  return {
    logGroups: page.map((g) => ({ logGroupName: g.name, creationTime: g.createdAt, metricFilterCount: 0, arn: `${logs.groupArn(g)}:*`, logGroupArn: logs.groupArn(g), storedBytes: 0, logGroupClass: "STANDARD" })),
    ...(from + limit < all.length ? { nextToken: `o/${from + limit}` } : {}),
  };
}

function describeLogStreams(logs: LogsState, input: Record<string, unknown>): Record<string, unknown> {
  const g = groupOf(logs, input);
  const prefix = str(input.logStreamNamePrefix);
  const orderBy = str(input.orderBy) ?? "LogStreamName";
  if (orderBy !== "LogStreamName" && orderBy !== "LastEventTime") throw invalidParam("orderBy must be LogStreamName or LastEventTime.");
  if (orderBy === "LastEventTime" && prefix !== undefined) throw invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.");
  const limit = limitOf(input.limit, 50, 50);
  const lastAt = (s: LogStream): number => s.events[s.events.length - 1]?.timestamp ?? 0;
  const all = [...g.streams.values()]
    .filter((s) => prefix === undefined || s.name.startsWith(prefix))
    .sort((a, b) => (orderBy === "LastEventTime" ? lastAt(a) - lastAt(b) : a.name.localeCompare(b.name)));
  if (bool(input.descending)) all.reverse();
  const from = offsetOf(input.nextToken);
  return {
    logStreams: all.slice(from, from + limit).map((s) => streamJson(logs, g, s)),
    ...(from + limit < all.length ? { nextToken: `o/${from + limit}` } : {}),
  };
}

const inRange = (e: LogEvent, input: Record<string, unknown>): boolean =>
  (num(input.startTime) === undefined || e.timestamp >= num(input.startTime)!) && (num(input.endTime) === undefined || e.timestamp < num(input.endTime)!);

/**
 * GetLogEvents: without startFromHead the newest `limit` events; tokens page forward (f/<n>) and backward (b/<n>); at
 * the end of the stream the forward token comes back unchanged, as the API reference describes.
 */
function getLogEvents(logs: LogsState, input: Record<string, unknown>): Record<string, unknown> {
  const g = groupOf(logs, input);
  const name = str(input.logStreamName);
  if (name === undefined || name === "") throw invalidParam("logStreamName should not be null or empty.");
  const s = g.streams.get(name);
  if (!s) throw notFound("stream");
  const events = s.events.filter((e) => inRange(e, input));
  const limit = limitOf(input.limit, 10_000, 10_000);
  const token = str(input.nextToken);
  const m = token === undefined ? null : /^([fb])\/(\d+)$/.exec(token);
  if (token !== undefined && !m) throw invalidParam("The specified nextToken is invalid.");
  const forward = m ? m[1] === "f" : bool(input.startFromHead) === true;
  const at = m ? Math.min(Number(m[2]), events.length) : forward ? 0 : events.length;
  const [from, to] = forward ? [at, Math.min(events.length, at + limit)] : [Math.max(0, at - limit), at];
  return {
    events: events.slice(from, to).map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
    nextForwardToken: `f/${String(to).padStart(20, "0")}`,
    nextBackwardToken: `b/${String(from).padStart(20, "0")}`,
  };
}

/**
 * A subset of the filter pattern syntax for unstructured events: terms (all must appear), "quoted phrases",
 * ?terms (any of them), -terms (must not appear). Matching is case-sensitive.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export function matchesPattern(message: string, pattern: string | undefined): boolean {
  if (pattern === undefined || pattern.trim() === "") return true;
  const terms = [...pattern.matchAll(/([?-]?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({ op: m[1], text: m[2] ?? m[3]! }));
  const any = terms.filter((t) => t.op === "?");
  if (any.length > 0 && !any.some((t) => message.includes(t.text))) return false;
  return terms.every((t) => (t.op === "-" ? !message.includes(t.text) : t.op === "?" || message.includes(t.text)));
}

function filterLogEvents(logs: LogsState, input: Record<string, unknown>): Record<string, unknown> {
  const g = groupOf(logs, input);
  const names = arr(input.logStreamNames)?.map(String);
  const prefix = str(input.logStreamNamePrefix);
  if (names !== undefined && prefix !== undefined) throw invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
  const limit = limitOf(input.limit, 10_000, 10_000);
  const streams = [...g.streams.values()].filter((s) => (names === undefined || names.includes(s.name)) && (prefix === undefined || s.name.startsWith(prefix)));
  const all = streams
    .flatMap((s, si) => s.events.map((e, ei) => ({ s, e, id: `${String(si).padStart(8, "0")}${String(ei).padStart(12, "0")}` })))
    .filter(({ e }) => inRange(e, input) && matchesPattern(e.message, str(input.filterPattern)))
    .sort((a, b) => a.e.timestamp - b.e.timestamp || a.id.localeCompare(b.id));
  const from = offsetOf(input.nextToken);
  return {
    events: all.slice(from, from + limit).map(({ s, e, id }) => ({ logStreamName: s.name, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: id })),
    ...(from + limit < all.length ? { nextToken: `o/${from + limit}` } : {}),
  };
}

export const LOGS_OPERATIONS: Record<string, (logs: LogsState, input: Record<string, unknown>, ctx: LogsCtx) => Record<string, unknown>> = {
  CreateLogGroup: createLogGroup,
  DescribeLogGroups: describeLogGroups,
  DescribeLogStreams: describeLogStreams,
  GetLogEvents: getLogEvents,
  FilterLogEvents: filterLogEvents,
};
