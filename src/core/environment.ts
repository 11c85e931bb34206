/**
 * Environment files (environments/<name>.json): schema, validation with messages naming file and field.
 * Pure: parsing takes the file's text; reading the file is the caller's job (src/adapters/files.ts).
 *
 * A file has three parts, so a reader sees where every value comes from:
 * - inputs (every top-level field except the two below): written by people, read by lgtm-deploy and the CDK stack;
 * - `stack`: inputs only the CDK stack in infra/ reads (VPC, who may reach the load balancer, log retention...);
 * - `outputs`: what the stack created (ARNs, ids, names), written by `lgtm-deploy env sync` from the stack's
 *   CloudFormation outputs, never by hand (src/core/stack-outputs.ts is the contract between the two).
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { COMPONENT_NAMES, type ComponentName } from "./catalogue.js";
import { InvalidInputError } from "./errors.js";
import { describePath, parseJson } from "./json.js";

// zod/mini plus the English messages: the classic zod build would triple the bundle and its start-up time.
z.config(en());

export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT = /^\d{12}$/;
const pattern = (re: RegExp, message: string) => z.string().check(z.regex(re, message));
const arn = (service: string, resource: RegExp, what: string) =>
  pattern(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:(\\d{12})?:${resource.source}$`), `must be an ${what} ARN (arn:aws:${service}:...)`);
const roleArn = pattern(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const secretRef = pattern(
    /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+(:[\w-]*:[\w-]*:[\w-]*)?|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[\w/.-]+)$/,
  "must be a Secrets Manager secret ARN or an SSM parameter ARN (never a plain value)",
);

const componentOverride = z.strictObject({
  /** When set, every release sets the service's desired count; when absent, a release keeps the service's own (autoscaling). */
  desiredCount: z.optional(int(0, 100)),
  cpu: z.optional(int(1, 16384)),
  memory: z.optional(int(1, 122880)),
  ephemeralStorageGiB: z.optional(int(21, 200)),
  /** Ring replication factor (mimir, loki). */
  replicationFactor: z.optional(int(1, 5)),
});
export type ComponentOverride = z.infer<typeof componentOverride>;

/** Input: the component is routed through the stack's load balancer. Its target group ARN is an output. */
const loadBalancer = z.strictObject({
  /** Container port the target group forwards to; default: the component's http port. */
  containerPort: z.optional(int(1, 65535)),
  healthCheckGracePeriodSeconds: z._default(int(0, 2147483647), 120),
  /** The target group's health check, when it differs from the stack's (infra/lib/routes.ts HEALTH_CHECK: 10 s, 2). */
  healthCheckIntervalSeconds: z.optional(int(5, 300)),
  healthyThresholdCount: z.optional(int(2, 10)),
});
export type LoadBalancerSetting = z.infer<typeof loadBalancer>;

const perComponent = <T extends z.ZodMiniType>(schema: T) => z.partialRecord(z.enum(COMPONENT_NAMES), schema);
const everyComponent = <T extends z.ZodMiniType>(schema: T) => z.strictObject(Object.fromEntries(COMPONENT_NAMES.map((c) => [c, schema])) as Record<ComponentName, T>);

const subnetId = pattern(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-...)");
const securityGroupId = pattern(/^sg-[0-9a-f]{8,17}$/, "must be a security group id (sg-...)");
const cidr = pattern(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, "must be an IPv4 CIDR block such as 10.0.0.0/16");
/** CloudWatch Logs accepts only these retention periods (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Inputs only the CDK stack (infra/) reads. An environment without them (local) has no stack. */
const stackInputs = z.strictObject({
  /** CloudFormation stack name; default lgtm-<environment>. */
  name: z.optional(pattern(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, "must be a CloudFormation stack name")),
  /** The existing VPC (referenced, never created) holding network.subnets. */
  vpcId: pattern(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id (vpc-...)"),
  /** Subnets of the internal load balancer (two or more Availability Zones); default network.subnets. */
  loadBalancerSubnets: z.optional(z.array(subnetId).check(z.minLength(2))),
  /** Who may reach the internal load balancer: the hybrid EC2 agents, Grafana's users. */
  loadBalancerIngress: z.strictObject({
    cidrs: z._default(z.array(cidr), []),
    securityGroups: z._default(z.array(securityGroupId), []),
  }),
  logRetentionDays: z._default(z.literal(LOG_RETENTION_DAYS, `must be a CloudWatch Logs retention period (${LOG_RETENTION_DAYS.join(", ")})`), 30),
  /** Principal allowed to assume the Jenkins deploy role; default: the account (its IAM policies decide). */
  jenkinsPrincipalArn: z.optional(pattern(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/, "must be an IAM role or user ARN")),
  /** Customer-managed KMS key of the existing bucket, when it uses SSE-KMS: task roles may use it. */
  bucketKmsKeyArn: z.optional(arn("kms", /key\/[0-9a-f-]{36}/, "KMS key")),
});
export type StackInputs = z.infer<typeof stackInputs>;

const alarmName = z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^[^,]+$/, "must be a CloudWatch alarm name without commas"));

/** Outputs: what the stack created, written by `lgtm-deploy env sync` (src/core/stack-outputs.ts). */
const outputsSchema = z.strictObject({
  /** Where these values came from (describe-stacks). Absent when written by hand (local). */
  source: z.optional(z.strictObject({
    stackName: z.string(),
    stackId: arn("cloudformation", /stack\/[\w-]+\/[\w-]+/, "CloudFormation stack"),
    lastUpdated: z.string(),
  })),
  clusterArn: z.optional(arn("ecs", /cluster\/[\w-]+/, "ECS cluster")),
  cloudMap: z.strictObject({
    namespaceId: z.optional(pattern(/^ns-[a-z0-9]+$/, "must be a Cloud Map namespace id (ns-...)")),
    /** Cloud Map service ARN per component (the service's serviceRegistries entry). */
    services: everyComponent(arn("servicediscovery", /service\/srv-[a-z0-9]+/, "AWS Cloud Map service")),
  }),
  roles: z.strictObject({
    executionRoleArn: roleArn,
    /** One least-privilege task role per component. */
    taskRoleArns: everyComponent(roleArn),
    jenkinsDeployRoleArn: z.optional(roleArn),
  }),
  /** The stack's task security group(s); network.securityGroups adds to them. */
  network: z.strictObject({ securityGroups: z.array(securityGroupId).check(z.minLength(1), z.maxLength(5)) }),
  loadBalancer: z.optional(z.strictObject({ dnsName: pattern(/^[A-Za-z0-9.-]+\.elb\.amazonaws\.com(\.cn)?$/, "must be a load balancer DNS name") })),
  /** Per routed component (input loadBalancers.<component>). */
  loadBalancers: z._default(perComponent(z.strictObject({ targetGroupArn: arn("elasticloadbalancing", /targetgroup\/[\w-]+\/[0-9a-f]+/, "ELB target group") })), {}),
  /** CloudWatch alarms the stack made for a component (target 5xx, unhealthy hosts): its deployment alarms. */
  deploymentAlarms: z._default(perComponent(z.array(alarmName)), {}),
});
export type EnvironmentOutputs = z.infer<typeof outputsSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Migration inputs and cutover ownership (docs/cutover.md). Everything that decides whether the data the old
// EC2 stack left in the bucket stays readable and kept. Defaults are today's values (src/core/migration.ts).
const duration = pattern(/^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+)$/, "must be a duration such as 0s, 90m, 336h or 30d");
/** Mimir's tenant id rules (letters, digits and !-_.*'()), up to 150 characters. */
const tenantId = pattern(/^[A-Za-z0-9!._*'()-]{1,150}$/, "must be a tenant id (letters, digits and !-_.*'())");
const lokiPeriod = z.strictObject({
  from: pattern(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD (UTC)"),
  store: z.enum(["tsdb", "boltdb-shipper", "boltdb", "aws", "aws-dynamo", "bigtable", "bigtable-hashed", "gcp", "gcp-columnkey", "cassandra", "grpc-store"]),
  object_store: pattern(/^[a-z0-9-]+$/, "must be an object store name such as s3"),
  schema: pattern(/^v\d+$/, "must be a schema version such as v13"),
  index: z.strictObject({
    prefix: pattern(/^[A-Za-z0-9_-]+$/, "must be an index table prefix such as index_"),
    period: duration,
    path_prefix: z.optional(pattern(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\/$/, "must be a path prefix such as index/")),
  }),
  chunks: z.optional(z.strictObject({ prefix: z.optional(pattern(/^[A-Za-z0-9_-]*$/, "must be a chunk table prefix")), period: z.optional(duration) })),
  row_shards: z.optional(int(1, 1024)),
});
export type LokiPeriod = z.infer<typeof lokiPeriod>;
const tenancy = z.strictObject({
  /** Mimir/Tempo/Pyroscope multitenancy_enabled, Loki auth_enabled. */
  multitenancy: z.boolean(),
  /** Every tenant with data in the bucket (required when multitenancy is on; the cutover disables compaction for them). */
  tenants: z._default(z.array(tenantId), []),
});
const dataComponents = ["mimir", "loki", "tempo", "pyroscope"] as const;
const perDataComponent = <T extends z.ZodMiniType>(schema: T) => z.partialRecord(z.enum(dataComponents), schema);
const migration = z.strictObject({
  description: z.optional(z.string()),
  /** The layout in the bucket; default: the catalogue (blocks, rules, alerts, ftt-loki/, ftt-tempo/, ftt-pyroscope/). */
  prefixes: z._default(
    z.strictObject({
      mimirBlocks: z.optional(pattern(/^[\da-zA-Z]+$/, "Mimir prefixes are letters and digits only")),
      mimirRuler: z.optional(pattern(/^[\da-zA-Z]+$/, "Mimir prefixes are letters and digits only")),
      mimirAlertmanager: z.optional(pattern(/^[\da-zA-Z]+$/, "Mimir prefixes are letters and digits only")),
      loki: z.optional(pattern(/^[\da-zA-Z-]+\/$/, "the Loki prefix is letters, digits and dashes followed by one /")),
      tempo: z.optional(pattern(/^[\w.-]+(\/[\w.-]+)*\/$/, "must be an S3 key prefix ending in /")),
      pyroscope: z.optional(pattern(/^[\w.-]+(\/[\w.-]+)*\/$/, "must be an S3 key prefix ending in /")),
    }),
    {},
  ),
  /** Loki schema_config periods, oldest first, copied from the old stack. */
  lokiSchema: z.optional(z.array(lokiPeriod).check(z.minLength(1))),
  /** Retention per component ("0s" = keep forever): Mimir/Pyroscope compactor_blocks_retention_period, Loki retention_period, Tempo block_retention. */
  retention: z._default(perDataComponent(duration), {}),
  tenancy: z._default(perDataComponent(tenancy), {}),
  /** Mimir's no_auth_tenant when multitenancy is off (blocks live under <prefix>/<tenant>/). */
  mimirNoAuthTenant: z._default(tenantId, "anonymous"),
});
export type MigrationSettings = z.infer<typeof migration>;
const owner = z.enum(["old", "new"]);
const cutover = z.strictObject({
  description: z.optional(z.string()),
  /** Which stack runs each compactor (the single writer of compaction, retention and bucket/tenant indexes). */
  compactor: z.strictObject({ mimir: owner, loki: owner, tempo: owner, pyroscope: owner }),
  /** Mimir's (and Loki's) ruler and Mimir's alertmanager. */
  ruler: owner,
  alertmanager: owner,
  /** Where the agents and applications write: the old stack, both (dual-write window) or the new one. */
  writers: z._default(z.enum(["old", "both", "new"]), "old"),
  /** The old stack: running, its ingesters drained (flushed and stopped), or decommissioned. */
  oldStack: z._default(z.enum(["running", "drained", "decommissioned"]), "running"),
  /** Mimir's bucket-index max stale period on the new stack; raise it for the compactor handover (docs/cutover.md). */
  bucketIndexMaxStalePeriod: z._default(duration, "1h"),
});
export type CutoverSettings = z.infer<typeof cutover>;
// ---------------------------------------------------------------------------------------------------------------

export const environmentSchema = z.strictObject({
  $schema: z.optional(z.string()),
  description: z.optional(z.string()),
  account: pattern(ACCOUNT, "must be a 12-digit AWS account id"),
  region: pattern(AWS_REGION, "must be an AWS region such as ap-northeast-2"),
  cluster: pattern(/^[A-Za-z0-9_-]{1,255}$/, "must be an ECS cluster name"),
  releaseBranch: z._default(z.string().check(z.minLength(1)), "main"),
  ecr: z.strictObject({
    registry: pattern(/^(\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com|127\.0\.0\.1(:\d+)?|localhost(:\d+)?)$/, "must be an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)"),
    repositoryPrefix: z._default(pattern(/^[a-z0-9][a-z0-9._/-]*$|^$/, "must be a valid ECR repository name prefix"), "lgtm-"),
    /** Lifecycle policy: keep this many images per repository. */
    keepImages: z._default(int(1, 1000), 50),
  }),
  cloudMap: z.strictObject({
    namespace: pattern(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, "must be a DNS namespace such as lgtm.local"),
  }),
  s3Bucket: pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  network: z.strictObject({
    subnets: z.array(subnetId).check(z.minLength(1)),
    /** Security groups added to the stack's own (outputs.network.securityGroups), e.g. one the database allows. */
    securityGroups: z._default(z.array(securityGroupId).check(z.maxLength(4)), []),
    assignPublicIp: z._default(z.enum(["ENABLED", "DISABLED"]), "DISABLED"),
  }),
  logGroupPrefix: pattern(/^\/[\w./#-]*[\w#-]$/, "must be a log group path such as /ecs/lgtm"),
  cpuArchitecture: z._default(z.enum(["X86_64", "ARM64"]), "X86_64"),
  grafana: z.strictObject({
    adminPasswordSecret: secretRef,
    database: z.strictObject({
      /** sqlite3 keeps data on the task's ephemeral disk: wiped on every deploy. Only for local rehearsal. */
      type: z.enum(["postgres", "mysql", "sqlite3"]),
      host: z._default(z.string(), ""),
      name: z._default(z.string(), "grafana"),
      user: z._default(z.string(), "grafana"),
      sslMode: z._default(z.enum(["disable", "require", "verify-ca", "verify-full"]), "require"),
      passwordSecret: secretRef,
    }),
    /** Release annotations (deploy --annotate): Grafana's base URL as Jenkins reaches it. The token never goes here. */
    annotations: z.optional(
      z.strictObject({
        url: pattern(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/, "must be Grafana's base URL such as https://grafana.example.com (no credentials, query or fragment)"),
      }),
    ),
  }),
  loadBalancers: z._default(perComponent(loadBalancer), {}),
  components: z._default(perComponent(componentOverride), {}),
  tags: z._default(z.record(pattern(/^[\w .:/=+@-]{1,128}$/, "must be a valid tag key"), z.string().check(z.maxLength(256))), {}),
  stack: z.optional(stackInputs),
  outputs: z.optional(outputsSchema),
  /** Migration inputs from the running old stack (docs/cutover.md); defaults are today's values. */
  migration: z._default(migration, () => ({ prefixes: {}, retention: {}, tenancy: {}, mimirNoAuthTenant: "anonymous" })),
  /** Cutover ownership of the single-writer roles; absent = the new stack owns everything (no old stack). */
  cutover: z.optional(cutover),
});

export type Environment = z.infer<typeof environmentSchema> & { name: string; file: string };

const fieldPath = (path: readonly PropertyKey[]): string => describePath(path);

/** Fields that moved into `outputs` when the stack started creating them: the error says where they went. */
const MOVED: Readonly<Record<string, string>> = {
  roles: "outputs.roles (executionRoleArn, taskRoleArns.<component>)",
  "cloudMap.services": "outputs.cloudMap.services",
  "loadBalancers.<component>.targetGroupArn": "outputs.loadBalancers.<component>.targetGroupArn",
};
const SYNC_HINT = "the stack creates it; lgtm-deploy env sync writes it (README: From an empty account to the first release)";

function unknownFieldMessage(path: PropertyKey[], keys: string[]): string[] {
  const unknown: string[] = [];
  const moved: string[] = [];
  for (const key of keys) {
    const generic = [...path, key].map((p) => (typeof p === "string" && (COMPONENT_NAMES as readonly string[]).includes(p) ? "<component>" : String(p))).join(".");
    const target = MOVED[generic];
    if (target === undefined) unknown.push(key);
    else moved.push(`  field "${fieldPath([...path, key])}": moved to ${target}: ${SYNC_HINT}`);
  }
  return [...(unknown.length > 0 ? [`  field "${fieldPath(path)}": unknown field(s) ${unknown.map((k) => `"${k}"`).join(", ")}`] : []), ...moved];
}

/** At most this many problems are listed; the rest are counted (a wrong file must not flood a console). */
const MAX_PROBLEMS = 12;

/**
 * Parses and validates an environment file's text: strict JSON (duplicate keys, line:column; src/core/json.ts), the
 * schema, then the cross-checks. Every problem line names the field and its line and column.
 */
export function parseEnvironment(name: string, file: string, text: string): Environment {
  if (!ENVIRONMENT_NAME.test(name)) throw new InvalidInputError(`invalid environment name "${name}": use lower-case letters, digits and dashes`);
  const json = parseJson(text, file);
  // `field "a.b[1]": message` → `field "a.b[1]": message (line 3, column 5)` (a missing field: its parent's place).
  const located = (line: string): string => {
    const text = line.trim();
    const described = /field "([^"]*)"/.exec(text)?.[1];
    const path = described === undefined || described === "(top level)" ? [] : [...described.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
    for (let n = path.length; n >= 0; n--) {
      const p = json.positionOf(path.slice(0, n));
      if (p) return `${text} (line ${p.line}, column ${p.column})`;
    }
    return text;
  };
  const fail = (problems: readonly string[]): InvalidInputError => {
    const shown = problems.slice(0, MAX_PROBLEMS).map((p) => `  ${located(p)}`);
    if (problems.length > MAX_PROBLEMS) shown.push(`  ... and ${problems.length - MAX_PROBLEMS} more`);
    return new InvalidInputError(`${file}: invalid environment:\n${shown.join("\n")}`);
  };
  const parsed = z.safeParse(environmentSchema, json.value);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((issue) => {
      if (issue.code === "unrecognized_keys") return unknownFieldMessage(issue.path, issue.keys);
      let message = issue.message;
      if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) message = "is required";
      return [`  field "${fieldPath(issue.path)}": ${message}`];
    });
    throw fail(lines);
  }
  const env = { ...parsed.data, name, file };
  const mismatch = [...inputMismatches(env), ...outputsMismatches(env), ...placeholders(json.value)];
  if (mismatch.length > 0) throw fail(mismatch);
  return env;
}

/** The partition an ARN of this region lives in (aws, aws-cn, aws-us-gov, ...). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  return "aws";
}

/**
 * The inputs belong to the file's account and region too: the registry, the secrets, the stack's principal and KMS
 * key (outputs: outputsMismatches). An ARN copied from another environment is the 3 a.m. mistake this catches. (ECS
 * could read a secret shared from another account or region; this project keeps them in the environment's.) Every
 * ARN, outputs included, must be of the region's partition.
 */
function inputMismatches(env: Omit<Environment, "name" | "file">): string[] {
  const problems: string[] = [];
  const registry = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(env.ecr.registry);
  if (registry && registry[1] !== env.account) problems.push(`field "ecr.registry": account ${registry[1]} differs from "account" ${env.account}`);
  if (registry && registry[2] !== env.region) problems.push(`field "ecr.registry": region ${registry[2]} differs from "region" ${env.region}`);
  const partition = partitionOf(env.region);
  const walk = (value: unknown, path: PropertyKey[]): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    else if (typeof value === "string" && value.startsWith("arn:")) {
      const [, part, service, region, account] = value.split(":");
      if (part !== partition) problems.push(`field "${fieldPath(path)}": partition ${part} does not match region ${env.region} (${partition})`);
      else if (path[0] !== "outputs") {
        if (account !== env.account) problems.push(`field "${fieldPath(path)}": account ${account === "" ? "(none)" : account} differs from "account" ${env.account}`);
        else if (service !== "iam" && region !== env.region) problems.push(`field "${fieldPath(path)}": region ${region === "" ? "(none)" : region} differs from "region" ${env.region}`);
      }
    }
  };
  walk(env, []);
  if (env.grafana.database.type !== "sqlite3" && env.grafana.database.host.trim() === "") problems.push(`field "grafana.database.host": is required for ${env.grafana.database.type}`);
  return problems;
}

const PLACEHOLDER = /\{\{|\}\}|<[^<>]*>|\$\{[^}]*\}|^(todo|tbd|fixme|xxx+)$|replace[-_ ]?me|change[-_ ]?me/i;

/** Strings that are still template or to-do placeholders ({{account}}, <subnet-id>, REPLACE_ME, ${VAR}). */
function placeholders(value: unknown, path: PropertyKey[] = []): string[] {
  if (typeof value === "string") return path[0] !== "description" && PLACEHOLDER.test(value) ? [`field "${fieldPath(path)}": ${JSON.stringify(value)} is a placeholder; put the real value here`] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, [...path, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => placeholders(v, [...path, k]));
  return [];
}

/** Outputs must belong to this environment's inputs: same account and region, the same routed components. */
function outputsMismatches(env: Omit<Environment, "name" | "file">): string[] {
  const out = env.outputs;
  if (out === undefined) return [];
  const problems: string[] = [];
  const walk = (value: unknown, path: PropertyKey[]): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    else if (typeof value === "string" && value.startsWith("arn:")) {
      const [, , service, region, account] = value.split(":");
      if (account !== "" && account !== env.account) problems.push(`field "${fieldPath(path)}": account ${account} differs from "account" ${env.account}`);
      if (region !== "" && service !== "iam" && region !== env.region) problems.push(`field "${fieldPath(path)}": region ${region} differs from "region" ${env.region}`);
    }
  };
  walk(out, ["outputs"]);
  const routed = Object.keys(env.loadBalancers);
  for (const c of routed) {
    if (out.loadBalancers[c as ComponentName] === undefined) problems.push(`field "outputs.loadBalancers.${c}": missing, but loadBalancers.${c} routes ${c} through the load balancer: deploy the stack again and run lgtm-deploy env sync`);
  }
  for (const c of Object.keys(out.loadBalancers)) {
    if (!routed.includes(c)) problems.push(`field "outputs.loadBalancers.${c}": ${c} is not routed (no loadBalancers.${c} input): deploy the stack again and run lgtm-deploy env sync`);
  }
  const groups = [...out.network.securityGroups, ...env.network.securityGroups];
  if (groups.length > 5) problems.push(`fields "outputs.network.securityGroups" and "network.securityGroups": ${groups.length} security groups, a task accepts at most 5`);
  if (new Set(groups).size !== groups.length) problems.push(`field "network.securityGroups": repeats a group the stack already attaches (outputs.network.securityGroups)`);
  return problems;
}

/** The outputs section, or a clear error saying how to produce it. Everything that renders needs it. */
export function requireOutputs(env: Environment): EnvironmentOutputs {
  if (env.outputs === undefined) {
    throw new InvalidInputError(
      `${env.file}: no "outputs" section: the ARNs of what the stack created have not been synced. Deploy the stack (infra/) and run: lgtm-deploy env sync --env ${env.name} --stack-outputs <aws cloudformation describe-stacks output>`,
    );
  }
  return env.outputs;
}

/** The CloudFormation stack name of an environment (infra/ creates it, env sync looks for it). */
export function stackName(env: Pick<Environment, "name" | "stack">): string {
  return env.stack?.name ?? `lgtm-${env.name}`;
}

/** The environment's routed components (its loadBalancers input), in catalogue order. */
export function routedComponents(env: Pick<Environment, "loadBalancers">): ComponentName[] {
  return COMPONENT_NAMES.filter((c) => env.loadBalancers[c] !== undefined);
}
