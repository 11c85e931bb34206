/** ECS operations used by the deploy engine. Thin wrappers: no decisions here. */
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

export async function clusterStatus(ecs: ECSClient, cluster: string): Promise<string | undefined> {
  const { DescribeClustersCommand } = await ecsSdk();
  const out = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  return out.clusters?.[0]?.status;
}

/** One DescribeServices call per 10 services (the API's limit). Missing services map to undefined. */
export async function describeServices(ecs: ECSClient, cluster: string, names: readonly string[]): Promise<Map<string, Service | undefined>> {
  const { DescribeServicesCommand } = await ecsSdk();
  const result = new Map<string, Service | undefined>();
  for (let i = 0; i < names.length; i += 10) {
    const batch = names.slice(i, i + 10);
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [...batch] }));
    for (const name of batch) result.set(name, out.services?.find((s) => s.serviceName === name));
  }
  return result;
}

export async function describeTaskDefinition(ecs: ECSClient, taskDefinition: string): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
  const { DescribeTaskDefinitionCommand } = await ecsSdk();
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ["TAGS"] }));
  return { taskDefinition: out.taskDefinition!, tags: out.tags ?? [] };
}

export async function listTaskDefinitionArns(ecs: ECSClient, family: string, limit: number): Promise<string[]> {
  const { ListTaskDefinitionsCommand } = await ecsSdk();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, sort: "DESC", status: "ACTIVE", maxResults: Math.min(100, limit), nextToken }));
    arns.push(...(out.taskDefinitionArns ?? []).filter((a) => a.split("/").pop()?.split(":")[0] === family));
    nextToken = out.nextToken;
  } while (nextToken !== undefined && arns.length < limit);
  return arns.slice(0, limit);
}

export async function registerTaskDefinition(ecs: ECSClient, input: RegisterTaskDefinitionCommandInput): Promise<string> {
  const { RegisterTaskDefinitionCommand } = await ecsSdk();
  const out = await ecs.send(new RegisterTaskDefinitionCommand(input));
  return out.taskDefinition!.taskDefinitionArn!;
}

export async function updateService(ecs: ECSClient, input: UpdateServiceCommandInput): Promise<Service> {
  const { UpdateServiceCommand } = await ecsSdk();
  const out = await ecs.send(new UpdateServiceCommand(input));
  return out.service!;
}

export async function createService(ecs: ECSClient, input: CreateServiceCommandInput): Promise<Service> {
  const { CreateServiceCommand } = await ecsSdk();
  const out = await ecs.send(new CreateServiceCommand(input));
  return out.service!;
}

/** Stopped tasks started by one deployment (ECS sets startedBy to the deployment id), described. */
export async function stoppedTasks(ecs: ECSClient, cluster: string, deploymentId: string, skip: ReadonlySet<string>): Promise<Task[]> {
  const { DescribeTasksCommand, ListTasksCommand } = await ecsSdk();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTasksCommand({ cluster, startedBy: deploymentId, desiredStatus: "STOPPED", nextToken }));
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken !== undefined);
  const fresh = arns.filter((a) => !skip.has(a));
  const tasks: Task[] = [];
  for (let i = 0; i < fresh.length; i += 100) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: fresh.slice(i, i + 100) }));
    tasks.push(...(out.tasks ?? []).filter((t) => t.lastStatus === "STOPPED"));
  }
  return tasks;
}

/** The service's deployment history, newest first, with the task definition of each deployment's target revision. */
export async function deploymentHistory(ecs: ECSClient, cluster: string, service: string, limit = 20): Promise<Array<ServiceDeployment & { taskDefinition?: string }>> {
  const { DescribeServiceDeploymentsCommand, DescribeServiceRevisionsCommand, ListServiceDeploymentsCommand } = await ecsSdk();
  const list = await ecs.send(new ListServiceDeploymentsCommand({ cluster, service, maxResults: Math.min(limit, 100) }));
  const arns = (list.serviceDeployments ?? []).map((d) => d.serviceDeploymentArn!).filter(Boolean);
  if (arns.length === 0) return [];
  const deployments: ServiceDeployment[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const out = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns.slice(i, i + 20) }));
    deployments.push(...(out.serviceDeployments ?? []));
  }
  const revisionArns = [...new Set(deployments.map((d) => d.targetServiceRevision?.arn).filter((a): a is string => a !== undefined))];
  const taskDefByRevision = new Map<string, string | undefined>();
  for (let i = 0; i < revisionArns.length; i += 20) {
    const out = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: revisionArns.slice(i, i + 20) }));
    for (const r of out.serviceRevisions ?? []) taskDefByRevision.set(r.serviceRevisionArn!, r.taskDefinition);
  }
  return deployments
    .map((d) => ({ ...d, taskDefinition: taskDefByRevision.get(d.targetServiceRevision?.arn ?? "") }))
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
}
