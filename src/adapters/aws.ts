/**
 * AWS SDK clients for ECS and ECR, built one way for every command: endpoint and region resolution, the SDK's own
 * retry modes (standard for ECS, adaptive — client-side rate limiting on throttling — for ECR), timeouts so a dropped
 * connection cannot hang a release, and counting of API calls for the report.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import { AWS_REGION } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import { tagAwsError } from "./aws-errors.js";
import { ecrSdk, ecsSdk, logsSdk } from "./sdk.js";

export interface ApiCallCounts {
  /** Operations the tool asked for, by name (ECS:DescribeServices ...). */
  calls: Record<string, number>;
  /** HTTP attempts including SDK retries. */
  attempts: number;
  /** Attempts that were retried because of throttling or transient errors. */
  retries: number;
  total: number;
  mutating: number;
}

const MUTATING = /^(Create|Register|Deregister|Update|Put|Delete|Stop|Start|Run|Tag|Untag|Batch(Delete))/;

export class CallCounter {
  private readonly calls = new Map<string, number>();
  private attempts = 0;
  private retries = 0;

  record(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  recordAttempt(attempt: number): void {
    this.attempts += 1;
    if (attempt > 1) this.retries += 1;
  }

  snapshot(): ApiCallCounts {
    const calls = Object.fromEntries([...this.calls.entries()].sort(([a], [b]) => a.localeCompare(b)));
    const total = [...this.calls.values()].reduce((a, b) => a + b, 0);
    const mutating = [...this.calls.entries()].filter(([k]) => MUTATING.test(k.split(":")[1] ?? "")).reduce((a, [, n]) => a + n, 0);
    return { calls, attempts: this.attempts, retries: this.retries, total, mutating };
  }
}

export interface AwsSettings {
  region: string;
  /** --endpoint-url; AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_CLOUDWATCH_LOGS are read from env when absent. */
  endpointUrl?: string;
  env: Readonly<Record<string, string | undefined>>;
  maxAttempts?: number;
  /** The environment file the settings come from: error messages name it. */
  environmentFile?: string;
}

export interface AwsClients {
  ecs: ECSClient;
  ecr: ECRClient;
  /**
   * ECS for the changes a release makes (register, update, roll back): a client of its own (own retry quota), so a
   * throttling storm on the polling client never holds a rollback call back.
   */
  ecsWrites: ECSClient;
  /** CloudWatch Logs, only for the failure report's log lines (src/adapters/logs.ts). */
  logs: CloudWatchLogsClient;
  counter: CallCounter;
  destroy(): void;
}

/** Where an endpoint setting came from, for messages: the flag or the environment variable. */
export interface EndpointSetting {
  url: string;
  source: string;
}

/** --endpoint-url, else AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL (an empty variable counts as unset). */
export function endpointFor(service: "ECS" | "ECR" | "CLOUDWATCH_LOGS", s: Pick<AwsSettings, "endpointUrl" | "env">): EndpointSetting | undefined {
  if (s.endpointUrl !== undefined) return { url: s.endpointUrl, source: "--endpoint-url" };
  for (const name of [`AWS_ENDPOINT_URL_${service}`, "AWS_ENDPOINT_URL"]) {
    const v = s.env[name];
    if (v !== undefined && v !== "") return { url: v, source: name };
  }
  return undefined;
}

/** An endpoint must be a plain http(s) URL: no spaces, credentials, query or fragment. Errors name where it came from. */
export function validateEndpoint(e: EndpointSetting): URL {
  const bad = (why: string) => new InvalidInputError(`invalid ${e.source} ${JSON.stringify(e.url.length > 200 ? `${e.url.slice(0, 200)}…` : e.url)}: ${why}`);
  if (e.url.trim() === "") throw bad("empty; give a URL such as http://127.0.0.1:4566, or leave it out to use AWS");
  if (/\s/.test(e.url)) throw bad("contains white space");
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    throw bad("not a URL; expected http://host:port or https://host");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad(`the scheme must be http or https, not ${url.protocol.replace(/:$/, "")}`);
  if (url.hostname === "") throw bad("no host");
  if (url.username !== "" || url.password !== "") throw bad("must not contain credentials");
  if (url.search !== "" || url.hash !== "") throw bad("must not have a query or fragment");
  return url;
}

/** 127.0.0.0/8, localhost and ::1: the local emulator (or a tunnel), which must never see real credentials. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

type AnyClient = ECSClient | ECRClient | CloudWatchLogsClient;

function instrument(client: AnyClient, service: "ECS" | "ECR" | "Logs", counter: CallCounter, where: { region: string; endpoint?: string; environmentFile?: string }): void {
  const stack = client.middlewareStack as unknown as {
    add(mw: unknown, opts: Record<string, unknown>): void;
  };
  stack.add(
    (next: (a: { input?: unknown }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input?: unknown }) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      counter.record(service, operation);
      try {
        return await next(args);
      } catch (error) {
        // Which call failed, for the one-line message (aws-errors.ts).
        tagAwsError(error, { service, operation, input: args.input, ...where });
        throw error;
      }
    },
    { step: "initialize", name: "lgtmCountCalls" },
  );
  stack.add(
    (next: (a: { request?: { headers?: Record<string, string> } }) => Promise<unknown>) => async (args: { request?: { headers?: Record<string, string> } }) => {
      const header = args.request?.headers?.["amz-sdk-request"] ?? "";
      const attempt = Number(/attempt=(\d+)/.exec(header)?.[1] ?? "1");
      counter.recordAttempt(attempt);
      return next(args);
    },
    { step: "finalizeRequest", name: "lgtmCountAttempts", priority: "low" },
  );
}

/** AWS_MAX_ATTEMPTS (the SDK's own variable): 1..20, default 8. */
function maxAttemptsFrom(env: AwsSettings["env"]): number {
  const v = env.AWS_MAX_ATTEMPTS;
  if (v === undefined || v === "") return 8;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 20) throw new InvalidInputError(`invalid AWS_MAX_ATTEMPTS "${v}": expected a whole number from 1 to 20`);
  return Number(v);
}

/** Validates endpoints, region and retry settings first (no SDK is loaded for bad input), then builds the clients. */
export async function createAwsClients(settings: AwsSettings, counter = new CallCounter()): Promise<AwsClients> {
  if (!AWS_REGION.test(settings.region)) throw new InvalidInputError(`invalid AWS region "${settings.region}": expected a region such as ap-northeast-2`);
  const maxAttempts = settings.maxAttempts ?? maxAttemptsFrom(settings.env);
  const common = {
    region: settings.region,
    maxAttempts,
    retryMode: "adaptive" as const,
    // throwOnRequestTimeout: without it the SDK only logs a warning and a silent connection hangs the command.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000, throwOnRequestTimeout: true },
  };
  const configFor = (service: "ECS" | "ECR" | "CLOUDWATCH_LOGS") => {
    const setting = endpointFor(service, settings);
    if (setting === undefined) return { config: {}, endpoint: undefined };
    const url = validateEndpoint(setting);
    // A loopback endpoint is the local emulator: it checks no signatures, so it never gets real credentials, even
    // when AWS_ACCESS_KEY_ID / AWS_PROFILE are set (they are not read at all: explicit credentials win).
    const dummy = isLoopback(url) ? { credentials: { accessKeyId: "lgtm-local", secretAccessKey: "lgtm-local" } } : {};
    return { config: { endpoint: setting.url, ...dummy }, endpoint: setting.url };
  };
  const ecsConfig = configFor("ECS");
  const ecrConfig = configFor("ECR");
  const logsConfig = configFor("CLOUDWATCH_LOGS");
  const [{ ECSClient }, { ECRClient }, { CloudWatchLogsClient }] = await Promise.all([ecsSdk(), ecrSdk(), logsSdk()]);
  // Standard retry mode for ECS (jittered backoff per call, no shared client-side rate limiter): with the adaptive
  // mode one ThrottlingException early in a release capped every later read at the rate measured so far (a few
  // requests/s), and a watch that polls DescribeServices, DescribeServiceDeployments and per-component ListTasks
  // stalled for seconds — long enough for --timeout to decide a healthy release (test/release-faults.test.ts).
  const ecs = new ECSClient({ ...common, retryMode: "standard", ...ecsConfig.config });
  const ecr = new ECRClient({ ...common, ...ecrConfig.config });
  const file = settings.environmentFile === undefined ? {} : { environmentFile: settings.environmentFile };
  instrument(ecs, "ECS", counter, { region: settings.region, ...(ecsConfig.endpoint ? { endpoint: ecsConfig.endpoint } : {}), ...file });
  instrument(ecr, "ECR", counter, { region: settings.region, ...(ecrConfig.endpoint ? { endpoint: ecrConfig.endpoint } : {}), ...file });
  const ecsWrites = new ECSClient({ ...common, retryMode: "standard", ...ecsConfig.config });
  instrument(ecsWrites, "ECS", counter, { region: settings.region, ...(ecsConfig.endpoint ? { endpoint: ecsConfig.endpoint } : {}), ...file });
  // Logs serves only the failure report: two attempts at most, the report must not wait for CloudWatch.
  const logs = new CloudWatchLogsClient({ ...common, maxAttempts: 2, ...logsConfig.config });
  instrument(logs, "Logs", counter, { region: settings.region, ...(logsConfig.endpoint ? { endpoint: logsConfig.endpoint } : {}), ...file });
  return {
    ecs,
    ecr,
    ecsWrites,
    logs,
    counter,
    destroy() {
      ecs.destroy();
      ecr.destroy();
      ecsWrites.destroy();
      logs.destroy();
    },
  };
}
