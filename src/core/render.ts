/**
 * Rendering task and service definitions from taskdefs/ templates, and validating the result. Pure: takes template
 * objects and an environment, returns SDK inputs.
 */
import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput, UpdateServiceCommandInput } from "@aws-sdk/client-ecs";
import { CATALOGUE, COMPONENT_NAMES, discoveryName, familyName, repositoryName, serviceName, type ComponentName } from "./catalogue.js";
import { requireOutputs, type Environment } from "./environment.js";
import { InvalidInputError } from "./errors.js";
import { FARGATE_MAX_STOP_TIMEOUT, fargatePairError } from "./fargate.js";
import { DEFAULT_MAX_FAILED_TASKS } from "./rollout-state.js";
import { MIGRATION_VOCABULARY, migrationValues, s3PrefixesFor } from "./migration.js";
import type { ParsedTag } from "./tag.js";
import { renderTemplate, type Locate, type TemplateValue } from "./template.js";

export interface ImageRef {
  tag: ParsedTag;
  /** sha256:... when known (resolved from ECR): the task definition is then pinned to the digest. */
  digest?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Every placeholder a template may use. */
export const VOCABULARY: ReadonlySet<string> = new Set([
  "account", "region", "cluster", "component", "family", "serviceName", "namespace", "discoveryName", "memberlistJoin",
  "image", "imageTag", "version", "gitSha", "cpu", "memory", "ephemeralStorageGiB", "desiredCount",
  "minimumHealthyPercent", "maximumPercent", "executionRoleArn", "taskRoleArn", "logGroup", "cpuArchitecture",
  "s3Bucket", "s3Prefix", "s3Prefix.blocks", "s3Prefix.ruler", "s3Prefix.alertmanager", "replicationFactor",
  "subnets", "securityGroups", "assignPublicIp", "serviceRegistryArn", "loadBalancers", "healthCheckGracePeriodSeconds",
  "grafanaAdminPasswordSecret", "grafanaDbPasswordSecret", "grafanaDbType", "grafanaDbHost", "grafanaDbName",
  "grafanaDbUser", "grafanaDbSslMode", "tags",
  "maxFailedTasks", "deploymentAlarms",
  ...MIGRATION_VOCABULARY,
]);

export function imageReference(component: ComponentName, env: Environment, image: ImageRef): string {
  const repo = `${env.ecr.registry}/${repositoryName(component, env.ecr.repositoryPrefix)}`;
  if (image.digest !== undefined) {
    if (!DIGEST.test(image.digest)) throw new InvalidInputError(`invalid --digest "${image.digest}": expected sha256:<64 hex>`);
    return `${repo}@${image.digest}`;
  }
  return `${repo}:${image.tag.tag}`;
}

/** Settings after applying the environment's per-component overrides to the catalogue. */
export function effectiveSizing(component: ComponentName, env: Environment) {
  const base = CATALOGUE[component];
  const o = env.components[component] ?? {};
  return {
    desiredCount: o.desiredCount ?? base.tasks,
    cpu: o.cpu ?? base.cpu,
    memory: o.memory ?? base.memory,
    ephemeralStorageGiB: o.ephemeralStorageGiB ?? base.ephemeralStorageGiB,
    // Loki with 2 tasks: RF 2 would block every write while one task flushes; RF 1 + client retries is the default.
    replicationFactor: o.replicationFactor ?? (component === "mimir" ? 3 : component === "loki" ? (o.desiredCount ?? base.tasks) >= 3 ? 3 : 1 : undefined),
  };
}

export function templateValues(component: ComponentName, env: Environment, image: ImageRef): Record<string, TemplateValue | undefined> {
  const c = CATALOGUE[component];
  const sizing = effectiveSizing(component, env);
  const out = requireOutputs(env);
  const lb = env.loadBalancers[component];
  const targetGroupArn = out.loadBalancers[component]?.targetGroupArn;
  const http = c.ports.find((p) => p.name === "http")!;
  const prefixes = s3PrefixesFor(component, env);
  const tags: Record<string, string> = {
    ...env.tags,
    "lgtm:component": component,
    "lgtm:environment": env.name,
    "lgtm:version": image.tag.version,
    "lgtm:git-sha": image.tag.sha,
    "lgtm:image-tag": image.tag.tag,
    "managed-by": "lgtm-deploy",
  };
  return {
    account: env.account,
    region: env.region,
    cluster: env.cluster,
    component,
    family: familyName(component),
    serviceName: serviceName(component),
    namespace: env.cloudMap.namespace,
    discoveryName: discoveryName(component, env.cloudMap.namespace),
    memberlistJoin: c.ports.some((p) => p.name === "memberlist") ? `dns+${discoveryName(component, env.cloudMap.namespace)}:7946` : undefined,
    image: imageReference(component, env, image),
    imageTag: image.tag.tag,
    version: image.tag.version,
    gitSha: image.tag.sha,
    cpu: String(sizing.cpu),
    memory: String(sizing.memory),
    ephemeralStorageGiB: sizing.ephemeralStorageGiB,
    desiredCount: sizing.desiredCount,
    minimumHealthyPercent: c.deployment.minimumHealthyPercent,
    maximumPercent: c.deployment.maximumPercent,
    executionRoleArn: out.roles.executionRoleArn,
    taskRoleArn: out.roles.taskRoleArns[component],
    logGroup: `${env.logGroupPrefix}/${component}`,
    cpuArchitecture: env.cpuArchitecture,
    s3Bucket: env.s3Bucket,
    s3Prefix: prefixes.storage,
    "s3Prefix.blocks": prefixes.blocks,
    "s3Prefix.ruler": prefixes.ruler,
    "s3Prefix.alertmanager": prefixes.alertmanager,
    replicationFactor: sizing.replicationFactor === undefined ? undefined : String(sizing.replicationFactor),
    subnets: env.network.subnets,
    securityGroups: [...out.network.securityGroups, ...env.network.securityGroups],
    assignPublicIp: env.network.assignPublicIp,
    serviceRegistryArn: out.cloudMap.services[component],
    // parseEnvironment guarantees a target group for every routed component when outputs exist.
    loadBalancers: lb === undefined || targetGroupArn === undefined ? [] : [{ targetGroupArn, containerName: component, containerPort: lb.containerPort ?? http.containerPort }],
    // Only with a load balancer: ECS rejects the setting (any value, 0 included) on a service without one.
    healthCheckGracePeriodSeconds: lb === undefined || targetGroupArn === undefined ? null : lb.healthCheckGracePeriodSeconds,
    grafanaAdminPasswordSecret: env.grafana.adminPasswordSecret,
    grafanaDbPasswordSecret: env.grafana.database.passwordSecret,
    grafanaDbType: env.grafana.database.type,
    grafanaDbHost: env.grafana.database.host,
    grafanaDbName: env.grafana.database.name,
    grafanaDbUser: env.grafana.database.user,
    grafanaDbSslMode: env.grafana.database.sslMode,
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    // The service's own circuit breaker counts failed tasks like lgtm-deploy does, so it still protects the service when
    // Jenkins dies mid-release (deploy sets it from --max-failed-tasks).
    maxFailedTasks: DEFAULT_MAX_FAILED_TASKS,
    // The stack's alarms for the component (target 5xx, healthy hosts low): ECS rolls a deployment back when one fires.
    deploymentAlarms: (out.deploymentAlarms[component] ?? []).length > 0 ? { alarmNames: [...out.deploymentAlarms[component]!], enable: true, rollback: true } : null,
    ...migrationValues(component, env),
  };
}

export interface Templates {
  /** locate: where a JSON path is in the file (line:column for messages), when read from a file. */
  taskDefinition: { file: string; body: unknown; locate?: Locate };
  service: { file: string; body: unknown; locate?: Locate };
}

export interface Warning {
  component: ComponentName;
  message: string;
}

export function renderTaskDefinition(component: ComponentName, env: Environment, image: ImageRef, template: Templates["taskDefinition"]): RegisterTaskDefinitionCommandInput {
  const rendered = renderTemplate(template.body, templateValues(component, env, image), VOCABULARY, template.file, template.locate);
  const problems = validateTaskDefinition(component, rendered);
  if (problems.length > 0) throw new InvalidInputError(`${template.file}: rendered task definition for ${component} is invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return rendered as RegisterTaskDefinitionCommandInput;
}

export function renderService(component: ComponentName, env: Environment, image: ImageRef, template: Templates["service"]): CreateServiceCommandInput {
  const rendered = renderTemplate(template.body, templateValues(component, env, image), VOCABULARY, template.file, template.locate);
  const problems = validateService(component, env, rendered);
  if (problems.length > 0) throw new InvalidInputError(`${template.file}: rendered service for ${component} is invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return rendered as CreateServiceCommandInput;
}

/** UpdateService carries the subset of CreateService that may change on a running service. */
export function toUpdateServiceInput(create: CreateServiceCommandInput, taskDefinitionArn: string): UpdateServiceCommandInput {
  return {
    cluster: create.cluster,
    service: create.serviceName,
    taskDefinition: taskDefinitionArn,
    desiredCount: create.desiredCount,
    deploymentConfiguration: create.deploymentConfiguration,
    networkConfiguration: create.networkConfiguration,
    ...(create.healthCheckGracePeriodSeconds === undefined ? {} : { healthCheckGracePeriodSeconds: create.healthCheckGracePeriodSeconds }),
    loadBalancers: create.loadBalancers,
    serviceRegistries: create.serviceRegistries,
    propagateTags: create.propagateTags,
    enableECSManagedTags: create.enableECSManagedTags,
    forceNewDeployment: true,
  };
}

const SECRET_LIKE_ENV = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY)/i;
const SECRET_REF = /^(arn:aws[a-z-]*:(secretsmanager|ssm):|\/?[\w.-]+(\/[\w.-]+)*$)/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Checks what ECS itself would reject on Fargate plus this project's rules. Returns one message per problem. */
export function validateTaskDefinition(component: ComponentName, td: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(td)) return ["task definition must be a JSON object"];
  const expectedFamily = familyName(component);
  if (td.family !== expectedFamily) problems.push(`field "family": expected "${expectedFamily}", got ${JSON.stringify(td.family)}`);
  if (td.networkMode !== "awsvpc") problems.push(`field "networkMode": must be "awsvpc" on Fargate, got ${JSON.stringify(td.networkMode)}`);
  if (!Array.isArray(td.requiresCompatibilities) || !td.requiresCompatibilities.includes("FARGATE")) problems.push(`field "requiresCompatibilities": must include "FARGATE"`);
  const pair = fargatePairError(td.cpu as string | undefined, td.memory as string | undefined);
  if (pair) problems.push(`fields "cpu"/"memory": ${pair}`);
  if (isObj(td.ephemeralStorage)) {
    const size = td.ephemeralStorage.sizeInGiB;
    if (typeof size !== "number" || size < 21 || size > 200) problems.push(`field "ephemeralStorage.sizeInGiB": must be 21..200, got ${JSON.stringify(size)}`);
  }
  const containers = Array.isArray(td.containerDefinitions) ? td.containerDefinitions : [];
  if (containers.length === 0) problems.push(`field "containerDefinitions": at least one container is required`);
  const names = new Set<string>();
  const catalogue = CATALOGUE[component];
  containers.forEach((container: unknown, i) => {
    const at = `containerDefinitions[${i}]`;
    if (!isObj(container)) {
      problems.push(`field "${at}": must be an object`);
      return;
    }
    const name = container.name;
    if (typeof name !== "string" || name === "") problems.push(`field "${at}.name": required`);
    else if (names.has(name)) problems.push(`field "${at}.name": duplicate container name "${name}"`);
    else names.add(name);
    const image = container.image;
    if (typeof image !== "string" || image === "") problems.push(`field "${at}.image": required`);
    else if (/:latest$/.test(image) || (!image.includes("@") && !/:[\w][\w.-]*$/.test(image.split("/").pop() ?? ""))) {
      problems.push(`field "${at}.image": "${image}" uses "latest" or no tag; use the semver+SHA tag or a digest`);
    }
    if (typeof container.stopTimeout === "number" && container.stopTimeout > FARGATE_MAX_STOP_TIMEOUT) {
      problems.push(`field "${at}.stopTimeout": ${container.stopTimeout} exceeds Fargate's maximum of ${FARGATE_MAX_STOP_TIMEOUT} seconds`);
    }
    const ports = Array.isArray(container.portMappings) ? container.portMappings : [];
    for (const [j, pm] of ports.entries()) {
      if (!isObj(pm)) continue;
      const known = catalogue.ports.find((p) => p.containerPort === pm.containerPort);
      if (known === undefined) {
        problems.push(`field "${at}.portMappings[${j}].containerPort": ${String(pm.containerPort)} is not a ${component} port in the catalogue (${catalogue.ports.map((p) => p.containerPort).join(", ")})`);
      } else if (pm.name !== undefined && pm.name !== known.name) {
        problems.push(`field "${at}.portMappings[${j}].name": "${String(pm.name)}" should be "${known.name}" for port ${known.containerPort}`);
      }
      if (pm.hostPort !== undefined && pm.hostPort !== pm.containerPort) problems.push(`field "${at}.portMappings[${j}].hostPort": must equal containerPort in awsvpc mode`);
    }
    const env = Array.isArray(container.environment) ? container.environment : [];
    for (const [j, kv] of env.entries()) {
      if (isObj(kv) && typeof kv.name === "string" && SECRET_LIKE_ENV.test(kv.name)) {
        problems.push(`field "${at}.environment[${j}]": "${kv.name}" looks like a secret; pass it in "secrets" (valueFrom) instead`);
      }
    }
    const secrets = Array.isArray(container.secrets) ? container.secrets : [];
    for (const [j, s] of secrets.entries()) {
      if (!isObj(s) || typeof s.valueFrom !== "string" || !SECRET_REF.test(s.valueFrom)) {
        problems.push(`field "${at}.secrets[${j}].valueFrom": must reference Secrets Manager or SSM Parameter Store, never a value`);
      }
    }
    const log = container.logConfiguration;
    if (isObj(log) && log.logDriver === "awslogs") {
      const opts = isObj(log.options) ? log.options : {};
      if (!opts["awslogs-stream-prefix"]) problems.push(`field "${at}.logConfiguration.options.awslogs-stream-prefix": required on Fargate`);
    }
  });
  if (!names.has(component)) problems.push(`field "containerDefinitions": a container named "${component}" is required`);
  const own = containers.findIndex((c: unknown) => isObj(c) && c.name === component);
  if (own >= 0 && (containers[own] as Obj).essential === false) {
    problems.push(`field "containerDefinitions[${own}].essential": the ${component} container must be essential (a crash must stop the task, or a dead ${component} keeps serving as healthy)`);
  }
  if (containers.length > 0 && !containers.some((c: unknown) => isObj(c) && c.essential !== false)) {
    problems.push(`field "containerDefinitions": at least one container must be essential`);
  }
  for (const p of catalogue.ports) {
    const exposed = containers.some((c: unknown) => isObj(c) && Array.isArray(c.portMappings) && c.portMappings.some((pm: unknown) => isObj(pm) && pm.containerPort === p.containerPort));
    if (!exposed) problems.push(`field "containerDefinitions": catalogue port ${p.containerPort} (${p.name}) has no portMapping`);
  }
  return problems;
}

export function validateService(component: ComponentName, env: Environment, svc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(svc)) return ["service must be a JSON object"];
  if (svc.serviceName !== serviceName(component)) problems.push(`field "serviceName": expected "${serviceName(component)}"`);
  if (svc.cluster !== env.cluster) problems.push(`field "cluster": expected "${env.cluster}"`);
  if (svc.launchType !== "FARGATE" && !Array.isArray(svc.capacityProviderStrategy)) problems.push(`field "launchType": must be "FARGATE"`);
  const dc = isObj(svc.deploymentConfiguration) ? svc.deploymentConfiguration : undefined;
  const breaker = dc && isObj(dc.deploymentCircuitBreaker) ? dc.deploymentCircuitBreaker : undefined;
  if (!breaker || breaker.enable !== true || breaker.rollback !== true) problems.push(`field "deploymentConfiguration.deploymentCircuitBreaker": enable and rollback must be true`);
  const net = isObj(svc.networkConfiguration) && isObj(svc.networkConfiguration.awsvpcConfiguration) ? svc.networkConfiguration.awsvpcConfiguration : undefined;
  if (!net || !Array.isArray(net.subnets) || net.subnets.length === 0) problems.push(`field "networkConfiguration.awsvpcConfiguration.subnets": required`);
  if (!Array.isArray(svc.serviceRegistries) || svc.serviceRegistries.length === 0) problems.push(`field "serviceRegistries": the Cloud Map registry is required`);
  if (svc.healthCheckGracePeriodSeconds !== undefined && (!Array.isArray(svc.loadBalancers) || svc.loadBalancers.length === 0)) {
    problems.push(`field "healthCheckGracePeriodSeconds": only valid for a service with a load balancer (ECS rejects it, 0 included); leave it to {{healthCheckGracePeriodSeconds}}`);
  }
  return problems;
}

/** Advice that is not an error: combinations that are legal but unsafe. */
export function warnings(env: Environment): Warning[] {
  const out: Warning[] = [];
  for (const component of COMPONENT_NAMES) {
    const s = effectiveSizing(component, env);
    if ((component === "loki" || component === "mimir") && s.replicationFactor !== undefined && s.replicationFactor > 1) {
      const quorum = Math.floor(s.replicationFactor / 2) + 1;
      // Writes need `quorum` live replicas; during a rolling replacement one task is away.
      if (s.desiredCount - 1 < quorum) {
        out.push({
          component,
          message: `${env.file}: ${component} runs ${s.desiredCount} task(s) with replication factor ${s.replicationFactor}: writes need ${quorum} healthy replicas, so every write fails while one task restarts or flushes. Use replicationFactor 1 or at least ${quorum + 1} tasks.`,
        });
      }
    }
  }
  return out;
}
