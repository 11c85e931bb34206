/**
 * Environment files (environments/<name>.json): schema, validation with messages naming file and field.
 * Pure: parsing takes the file's text; reading the file is the caller's job (src/adapters/files.ts).
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { COMPONENT_NAMES, type ComponentName } from "./catalogue.js";
import { InvalidInputError } from "./errors.js";

// zod/mini plus the English messages: the classic zod build would triple the bundle and its start-up time.
z.config(en());

export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,30}$/;

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
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
  desiredCount: z.optional(int(0, 100)),
  cpu: z.optional(int(1, 16384)),
  memory: z.optional(int(1, 122880)),
  ephemeralStorageGiB: z.optional(int(21, 200)),
  /** Ring replication factor (mimir, loki). */
  replicationFactor: z.optional(int(1, 5)),
});
export type ComponentOverride = z.infer<typeof componentOverride>;

const loadBalancer = z.strictObject({
  targetGroupArn: arn("elasticloadbalancing", /targetgroup\/[\w-]+\/[0-9a-f]+/, "ELB target group"),
  /** Container port the target group forwards to; default: the component's http port. */
  containerPort: z.optional(int(1, 65535)),
  healthCheckGracePeriodSeconds: z._default(int(0, 2147483647), 120),
  /** The target group's health check as the infrastructure sets it (ELBv2 defaults for HTTP targets: 30 s, 5). */
  healthCheckIntervalSeconds: z._default(int(5, 300), 30),
  healthyThresholdCount: z._default(int(2, 10), 5),
});
export type LoadBalancerSetting = z.infer<typeof loadBalancer>;

const perComponent = <T extends z.ZodMiniType>(schema: T) => z.partialRecord(z.enum(COMPONENT_NAMES), schema);

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
    /** Cloud Map service ARN per component (the service's serviceRegistries entry). */
    services: z.strictObject(
      Object.fromEntries(COMPONENT_NAMES.map((c) => [c, arn("servicediscovery", /service\/srv-[a-z0-9]+/, "AWS Cloud Map service")])) as Record<ComponentName, ReturnType<typeof arn>>,
    ),
  }),
  s3Bucket: pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
  network: z.strictObject({
    subnets: z.array(pattern(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-...)")).check(z.minLength(1)),
    securityGroups: z.array(pattern(/^sg-[0-9a-f]{8,17}$/, "must be a security group id (sg-...)")).check(z.minLength(1), z.maxLength(5)),
    assignPublicIp: z._default(z.enum(["ENABLED", "DISABLED"]), "DISABLED"),
  }),
  roles: z.strictObject({
    executionRoleArn: roleArn,
    taskRoleArn: roleArn,
    /** Per-component task role overrides (e.g. alloy needs CloudWatch read access). */
    taskRoleArns: z._default(perComponent(roleArn), {}),
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
  }),
  loadBalancers: z._default(perComponent(loadBalancer), {}),
  components: z._default(perComponent(componentOverride), {}),
  tags: z._default(z.record(pattern(/^[\w .:/=+@-]{1,128}$/, "must be a valid tag key"), z.string().check(z.maxLength(256))), {}),
  /** Migration inputs from the running old stack (docs/cutover.md); defaults are today's values. */
  migration: z._default(migration, () => ({ prefixes: {}, retention: {}, tenancy: {}, mimirNoAuthTenant: "anonymous" })),
  /** Cutover ownership of the single-writer roles; absent = the new stack owns everything (no old stack). */
  cutover: z.optional(cutover),
});

export type Environment = z.infer<typeof environmentSchema> & { name: string; file: string };

function fieldPath(path: PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  return out === "" ? "(top level)" : out;
}

/** Parses and validates an environment file's text. Errors name the file and every bad field. */
export function parseEnvironment(name: string, file: string, text: string): Environment {
  if (!ENVIRONMENT_NAME.test(name)) throw new InvalidInputError(`invalid environment name "${name}": use lower-case letters, digits and dashes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const parsed = z.safeParse(environmentSchema, raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const where = fieldPath(issue.path);
      let message = issue.message;
      if (issue.code === "unrecognized_keys") message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) message = "is required";
      return `  field "${where}": ${message}`;
    });
    throw new InvalidInputError(`${file}: invalid environment:\n${lines.join("\n")}`);
  }
  const env = { ...parsed.data, name, file };
  const mismatch = [
    !env.ecr.registry.startsWith(`${env.account}.`) && env.ecr.registry.includes(".dkr.ecr.") ? `field "ecr.registry": account ${env.ecr.registry.split(".")[0]} differs from "account" ${env.account}` : undefined,
    env.ecr.registry.includes(".dkr.ecr.") && !env.ecr.registry.includes(`.dkr.ecr.${env.region}.`) ? `field "ecr.registry": region differs from "region" ${env.region}` : undefined,
  ].filter((m): m is string => m !== undefined);
  if (mismatch.length > 0) throw new InvalidInputError(`${file}: invalid environment:\n${mismatch.map((m) => `  ${m}`).join("\n")}`);
  return env;
}
