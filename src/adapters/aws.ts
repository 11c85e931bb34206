/**
 * AWS SDK clients for ECS and ECR, built one way for every command: endpoint and region resolution, the SDK's own
 * adaptive retry mode (jittered backoff plus client-side rate limiting on throttling), timeouts so a dropped
 * connection cannot hang a release, and counting of API calls for the report.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
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
}

export interface AwsClients {
  ecs: ECSClient;
  ecr: ECRClient;
  /** CloudWatch Logs, only for the failure report's log lines: few attempts, the report must not wait for it. */
  logs: CloudWatchLogsClient;
  counter: CallCounter;
  destroy(): void;
}

function endpointFor(service: "ECS" | "ECR" | "CLOUDWATCH_LOGS", s: AwsSettings): string | undefined {
  return s.endpointUrl ?? s.env[`AWS_ENDPOINT_URL_${service}`] ?? s.env.AWS_ENDPOINT_URL;
}

type AnyClient = ECSClient | ECRClient | CloudWatchLogsClient;

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

function instrument(client: AnyClient, service: string, counter: CallCounter): void {
  const stack = client.middlewareStack as unknown as {
    add(mw: unknown, opts: Record<string, unknown>): void;
  };
  stack.add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      counter.record(service, (context.commandName ?? "Unknown").replace(/Command$/, ""));
      return next(args);
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

export async function createAwsClients(settings: AwsSettings, counter = new CallCounter()): Promise<AwsClients> {
  const [{ ECSClient }, { ECRClient }, { CloudWatchLogsClient }] = await Promise.all([ecsSdk(), ecrSdk(), logsSdk()]);
  const maxAttempts = settings.maxAttempts ?? (Number(settings.env.AWS_MAX_ATTEMPTS) || 8);
  const common = {
    region: settings.region,
    maxAttempts,
    retryMode: "adaptive" as const,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
  };
  const ecsEndpoint = endpointFor("ECS", settings);
  const ecrEndpoint = endpointFor("ECR", settings);
  // A loopback endpoint is the local emulator: it checks no signatures, so never hand it real credentials.
  const local = (url: string | undefined) => url !== undefined && LOOPBACK.test(url) && !settings.env.AWS_ACCESS_KEY_ID;
  const dummy = { credentials: { accessKeyId: "lgtm-local", secretAccessKey: "lgtm-local" } };
  const ecs = new ECSClient({ ...common, ...(ecsEndpoint ? { endpoint: ecsEndpoint } : {}), ...(local(ecsEndpoint) ? dummy : {}) });
  const ecr = new ECRClient({ ...common, ...(ecrEndpoint ? { endpoint: ecrEndpoint } : {}), ...(local(ecrEndpoint) ? dummy : {}) });
  const logsEndpoint = endpointFor("CLOUDWATCH_LOGS", settings);
  const logs = new CloudWatchLogsClient({ ...common, maxAttempts: 2, ...(logsEndpoint ? { endpoint: logsEndpoint } : {}), ...(local(logsEndpoint) ? dummy : {}) });
  instrument(ecs, "ECS", counter);
  instrument(ecr, "ECR", counter);
  instrument(logs, "Logs", counter);
  return {
    ecs,
    ecr,
    logs,
    counter,
    destroy() {
      ecs.destroy();
      ecr.destroy();
      logs.destroy();
    },
  };
}
