/**
 * ECS operations used by the release engine, status and diff. Thin wrappers, no decisions — except that every call
 * can carry a deadline: `timeoutMs` and `signal` abort it (the SDK's own retries included), so no API behaviour can
 * hold a release past its wall-clock deadlines.
 */
import type {
  CreateServiceCommandInput,
  ECSClient,
  RegisterTaskDefinitionCommandInput,
  Service,
  ServiceDeployment,
  Tag,
  Task,
  TaskDefinition,
  UpdateServiceCommandInput,
} from "@aws-sdk/client-ecs";
import { ecsSdk } from "./sdk.js";

export interface CallOptions {
  /** Abort the call (and any retry the SDK is waiting for) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class CallAborted extends Error {
  constructor(message: string, readonly timedOut: boolean) {
    super(message);
    this.name = timedOut ? "TimeoutError" : "AbortError";
  }
}

/** Runs one SDK call under a deadline. The call's promise is raced, so even an SDK retry sleep cannot hold it. */
export async function bounded<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, o: CallOptions = {}): Promise<T> {
  const ctrl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let rejectAbort: (e: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (rejectAbort = reject));
  const onAbort = () => {
    ctrl.abort();
    rejectAbort(new CallAborted(`${what} aborted`, false));
  };
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      ctrl.abort();
      rejectAbort(new CallAborted(`${what} did not answer within ${Math.round(o.timeoutMs! / 100) / 10}s`, true));
    }, Math.max(1, o.timeoutMs));
  }
  const call = fn(ctrl.signal);
  call.catch(() => {});
  aborted.catch(() => {});
  try {
    return await Promise.race([call, aborted]);
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}

export async function clusterStatus(ecs: ECSClient, cluster: string, o?: CallOptions): Promise<string | undefined> {
  const { DescribeClustersCommand } = await ecsSdk();
  const out = await bounded("DescribeClusters", (abortSignal) => ecs.send(new DescribeClustersCommand({ clusters: [cluster] }), { abortSignal }), o);
  return out.clusters?.[0]?.status;
}

/** One DescribeServices call per 10 services (the API's limit), concurrently. Missing services map to undefined. */
export async function describeServices(ecs: ECSClient, cluster: string, names: readonly string[], o?: CallOptions): Promise<Map<string, Service | undefined>> {
  const { DescribeServicesCommand } = await ecsSdk();
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += 10) batches.push(names.slice(i, i + 10));
  const outs = await Promise.all(batches.map((batch) => bounded("DescribeServices", (abortSignal) => ecs.send(new DescribeServicesCommand({ cluster, services: batch }), { abortSignal }), o)));
  const result = new Map<string, Service | undefined>();
  for (const name of names) result.set(name, outs.flatMap((out) => out.services ?? []).find((s) => s.serviceName === name));
  return result;
}

/** DescribeServiceDeployments, 20 ARNs per call (the API's limit). Unknown ARNs (not yet visible) are simply absent. */
export async function describeServiceDeployments(ecs: ECSClient, arns: readonly string[], o?: CallOptions): Promise<ServiceDeployment[]> {
  if (arns.length === 0) return [];
  const { DescribeServiceDeploymentsCommand } = await ecsSdk();
  const out: ServiceDeployment[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const page = await bounded("DescribeServiceDeployments", (abortSignal) => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns.slice(i, i + 20) }), { abortSignal }), o);
    out.push(...(page.serviceDeployments ?? []));
  }
  return out;
}

export async function describeTaskDefinition(ecs: ECSClient, taskDefinition: string, o?: CallOptions): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
  const { DescribeTaskDefinitionCommand } = await ecsSdk();
  const out = await bounded("DescribeTaskDefinition", (abortSignal) => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ["TAGS"] }), { abortSignal }), o);
  return { taskDefinition: out.taskDefinition!, tags: out.tags ?? [] };
}

export async function listTaskDefinitionArns(ecs: ECSClient, family: string, limit: number, o?: CallOptions): Promise<string[]> {
  const { ListTaskDefinitionsCommand } = await ecsSdk();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await bounded("ListTaskDefinitions", (abortSignal) => ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, sort: "DESC", status: "ACTIVE", maxResults: Math.min(100, limit), nextToken: token }), { abortSignal }), o);
    arns.push(...(out.taskDefinitionArns ?? []).filter((a) => a.split("/").pop()?.split(":")[0] === family));
    nextToken = out.nextToken;
  } while (nextToken !== undefined && arns.length < limit);
  return arns.slice(0, limit);
}

export async function registerTaskDefinition(ecs: ECSClient, input: RegisterTaskDefinitionCommandInput, o?: CallOptions): Promise<string> {
  const { RegisterTaskDefinitionCommand } = await ecsSdk();
  const out = await bounded("RegisterTaskDefinition", (abortSignal) => ecs.send(new RegisterTaskDefinitionCommand(input), { abortSignal }), o);
  return out.taskDefinition!.taskDefinitionArn!;
}

export async function updateService(ecs: ECSClient, input: UpdateServiceCommandInput, o?: CallOptions): Promise<Service> {
  const { UpdateServiceCommand } = await ecsSdk();
  const out = await bounded("UpdateService", (abortSignal) => ecs.send(new UpdateServiceCommand(input), { abortSignal }), o);
  return out.service!;
}

export async function createService(ecs: ECSClient, input: CreateServiceCommandInput, o?: CallOptions): Promise<Service> {
  const { CreateServiceCommand } = await ecsSdk();
  const out = await bounded("CreateService", (abortSignal) => ecs.send(new CreateServiceCommand(input), { abortSignal }), o);
  return out.service!;
}

/** StopServiceDeployment with stopType ROLLBACK: ECS restores the previous service revision as a whole. */
export async function stopServiceDeployment(ecs: ECSClient, serviceDeploymentArn: string, o?: CallOptions): Promise<void> {
  const { StopServiceDeploymentCommand } = await ecsSdk();
  await bounded("StopServiceDeployment", (abortSignal) => ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn, stopType: "ROLLBACK" }), { abortSignal }), o);
}

export async function tagResource(ecs: ECSClient, resourceArn: string, tags: Record<string, string>, o?: CallOptions): Promise<void> {
  const { TagResourceCommand } = await ecsSdk();
  await bounded("TagResource", (abortSignal) => ecs.send(new TagResourceCommand({ resourceArn, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }), { abortSignal }), o);
}

/** Stopped tasks started by one deployment (ECS sets startedBy to the deployment id), skipping those already seen. */
export async function stoppedTasks(ecs: ECSClient, cluster: string, deploymentId: string, skip: ReadonlySet<string>, o?: CallOptions): Promise<Task[]> {
  return (await listStoppedTasks(ecs, cluster, deploymentId, skip, o)).stopped;
}

/**
 * The deployment's tasks ECS is stopping or has stopped (ListTasks desiredStatus STOPPED), not in `skip`: those that
 * are STOPPED, described, and how many are still on their way (STOPPING, DEPROVISIONING: their stop code and exit
 * codes are not final yet). On Fargate a task takes seconds to get from its container's exit to STOPPED.
 */
export async function listStoppedTasks(ecs: ECSClient, cluster: string, deploymentId: string, skip: ReadonlySet<string>, o?: CallOptions): Promise<{ stopped: Task[]; stopping: number }> {
  const { DescribeTasksCommand, ListTasksCommand } = await ecsSdk();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await bounded("ListTasks", (abortSignal) => ecs.send(new ListTasksCommand({ cluster, startedBy: deploymentId, desiredStatus: "STOPPED", nextToken: token }), { abortSignal }), o);
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken !== undefined);
  const fresh = arns.filter((a) => !skip.has(a));
  const stopped: Task[] = [];
  let stopping = 0;
  for (let i = 0; i < fresh.length; i += 100) {
    const batch = fresh.slice(i, i + 100);
    const out = await bounded("DescribeTasks", (abortSignal) => ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }), { abortSignal }), o);
    for (const t of out.tasks ?? []) {
      if (t.lastStatus === "STOPPED") stopped.push(t);
      else stopping += 1;
    }
  }
  return { stopped, stopping };
}

/**
 * The service deployment (ARN) that rolls out `taskDefinition`, created after `after`: for when UpdateService's answer
 * does not name it (currentServiceDeployment). Undefined while ListServiceDeployments does not show it yet.
 */
export async function findServiceDeployment(ecs: ECSClient, cluster: string, service: string, taskDefinition: string, after: Date, o?: CallOptions): Promise<string | undefined> {
  const { DescribeServiceRevisionsCommand, ListServiceDeploymentsCommand } = await ecsSdk();
  const list = await bounded("ListServiceDeployments", (abortSignal) => ecs.send(new ListServiceDeploymentsCommand({ cluster, service, createdAt: { after } }), { abortSignal }), o);
  const candidates = (list.serviceDeployments ?? []).filter((d) => d.serviceDeploymentArn && d.targetServiceRevisionArn).sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0)).slice(0, 20);
  if (candidates.length === 0) return undefined;
  const revisions = await bounded("DescribeServiceRevisions", (abortSignal) => ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: candidates.map((c) => c.targetServiceRevisionArn!) }), { abortSignal }), o);
  const tdOf = new Map((revisions.serviceRevisions ?? []).map((r) => [r.serviceRevisionArn, r.taskDefinition]));
  return candidates.find((c) => tdOf.get(c.targetServiceRevisionArn) === taskDefinition)?.serviceDeploymentArn;
}

export interface HistoryEntry extends ServiceDeployment {
  /** The task definition of the deployment's target revision. */
  taskDefinition?: string;
}

/** The service's deployment history, newest first, paginated up to `limit`, with each target revision's task definition. */
export async function deploymentHistory(ecs: ECSClient, cluster: string, service: string, limit: number, o?: CallOptions): Promise<HistoryEntry[]> {
  const { DescribeServiceRevisionsCommand, ListServiceDeploymentsCommand } = await ecsSdk();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await bounded("ListServiceDeployments", (abortSignal) => ecs.send(new ListServiceDeploymentsCommand({ cluster, service, maxResults: Math.min(100, limit), nextToken: token }), { abortSignal }), o);
    arns.push(...(page.serviceDeployments ?? []).map((d) => d.serviceDeploymentArn!).filter(Boolean));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && arns.length < limit);
  const deployments = await describeServiceDeployments(ecs, arns.slice(0, limit), o);
  const revisionArns = [...new Set(deployments.map((d) => d.targetServiceRevision?.arn).filter((a): a is string => a !== undefined))];
  const taskDefByRevision = new Map<string, string | undefined>();
  for (let i = 0; i < revisionArns.length; i += 20) {
    const batch = revisionArns.slice(i, i + 20);
    const out = await bounded("DescribeServiceRevisions", (abortSignal) => ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch }), { abortSignal }), o);
    for (const r of out.serviceRevisions ?? []) taskDefByRevision.set(r.serviceRevisionArn!, r.taskDefinition);
  }
  return deployments
    .map((d) => ({ ...d, taskDefinition: taskDefByRevision.get(d.targetServiceRevision?.arn ?? "") }))
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
}

/** Turns an SDK error into what the release engine needs to know: a name, a message, and whether ECS refused it. */
export function callError(error: unknown): { name: string; message: string; definite: boolean } {
  const e = error as { name?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? "Error";
  const throttled = /Throttl|TooManyRequests|RequestLimitExceeded/i.test(name);
  const status = e?.$metadata?.httpStatusCode ?? 0;
  const definite = e?.$fault === "client" && !throttled && status >= 400 && status < 500;
  return { name, message: (e?.message ?? String(error)).split("\n")[0]!.slice(0, 300), definite };
}
