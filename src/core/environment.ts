/**
 * Environment files (environments/<name>.json): schema, validation with messages naming file and field.
 * Pure: parsing takes the file's text; reading the file is the caller's job (src/adapters/files.ts).
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
});
export type LoadBalancerSetting = z.infer<typeof loadBalancer>;

const perComponent = <T extends z.ZodMiniType>(schema: T) => z.partialRecord(z.enum(COMPONENT_NAMES), schema);

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
});

export type Environment = z.infer<typeof environmentSchema> & { name: string; file: string };

/** At most this many problems are listed; the rest are counted (a wrong file must not flood a console). */
const MAX_PROBLEMS = 12;

function problemsError(file: string, problems: readonly string[]): InvalidInputError {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const more = problems.length - shown.length;
  const lines = shown.map((p) => `  ${p}`).concat(more > 0 ? [`  ... and ${more} more`] : []);
  return new InvalidInputError(`${file}: invalid environment (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
}

/** Parses and validates an environment file's text. Errors name the file, every bad field and its line:column. */
export function parseEnvironment(name: string, file: string, text: string): Environment {
  if (!ENVIRONMENT_NAME.test(name)) throw new InvalidInputError(`invalid environment name "${name}": use lower-case letters, digits and dashes`);
  const json = parseJson(text, file);
  const at = (path: readonly PropertyKey[]): string => {
    // The closest enclosing value that is in the text (a missing field points at its parent object).
    for (let n = path.length; n >= 0; n--) {
      const p = json.positionOf(path.slice(0, n));
      if (p) return `${file}:${p.line}:${p.column}: `;
    }
    return "";
  };
  const parsed = z.safeParse(environmentSchema, json.value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      let message = issue.message;
      if (issue.code === "unrecognized_keys") message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) message = "is required";
      return `${at(issue.path)}field "${describePath(issue.path)}": ${message}`;
    });
    throw problemsError(file, problems);
  }
  const env = { ...parsed.data, name, file };
  const problems = [...crossCheck(env), ...placeholders(json.value)].map(([path, message]) => `${at(path)}field "${describePath(path)}": ${message}`);
  if (problems.length > 0) throw problemsError(file, problems);
  return env;
}

type Problem = [PropertyKey[], string];

/** The partition an ARN of this region lives in (aws, aws-cn, aws-us-gov, ...). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  return "aws";
}

/**
 * Everything in the file belongs to one account and one region: the registry, the roles, the Cloud Map services,
 * the target groups and the secrets. A value copied from another environment is the 3 a.m. mistake this catches.
 * (ECS could read a secret shared from another account or region; this project keeps them in the environment's.)
 */
function crossCheck(env: Environment): Problem[] {
  const out: Problem[] = [];
  const partition = partitionOf(env.region);
  const registry = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(env.ecr.registry);
  if (registry && registry[1] !== env.account) out.push([["ecr", "registry"], `account ${registry[1]} differs from "account" ${env.account}`]);
  if (registry && registry[2] !== env.region) out.push([["ecr", "registry"], `region ${registry[2]} differs from "region" ${env.region}`]);
  const arn = (path: PropertyKey[], value: string | undefined, regional: boolean): void => {
    if (value === undefined) return;
    const [, part, , region, account] = value.split(":");
    if (part !== partition) out.push([path, `partition ${part} does not match region ${env.region} (${partition})`]);
    if (account !== env.account) out.push([path, `account ${account === "" ? "(none)" : account} differs from "account" ${env.account}`]);
    else if (regional && region !== env.region) out.push([path, `region ${region === "" ? "(none)" : region} differs from "region" ${env.region}`]);
  };
  arn(["roles", "executionRoleArn"], env.roles.executionRoleArn, false);
  arn(["roles", "taskRoleArn"], env.roles.taskRoleArn, false);
  for (const [c, role] of Object.entries(env.roles.taskRoleArns)) arn(["roles", "taskRoleArns", c], role, false);
  for (const [c, service] of Object.entries(env.cloudMap.services)) arn(["cloudMap", "services", c], service, true);
  for (const [c, lb] of Object.entries(env.loadBalancers)) arn(["loadBalancers", c, "targetGroupArn"], lb?.targetGroupArn, true);
  arn(["grafana", "adminPasswordSecret"], env.grafana.adminPasswordSecret, true);
  arn(["grafana", "database", "passwordSecret"], env.grafana.database.passwordSecret, true);
  if (env.grafana.database.type !== "sqlite3" && env.grafana.database.host.trim() === "") {
    out.push([["grafana", "database", "host"], `is required for ${env.grafana.database.type}`]);
  }
  return out;
}

const PLACEHOLDER = /\{\{|\}\}|<[^<>]*>|\$\{[^}]*\}|^(todo|tbd|fixme|xxx+|changeme|change[-_ ]me|replace[-_ ]?me)$|replace[-_ ]?me|change[-_ ]?me/i;

/** Strings that are still template or to-do placeholders ({{account}}, <subnet-id>, REPLACE_ME, ${VAR}). */
function placeholders(value: unknown, path: PropertyKey[] = []): Problem[] {
  if (typeof value === "string") return path[0] !== "description" && PLACEHOLDER.test(value) ? [[path, `${JSON.stringify(value)} is a placeholder; put the real value here`]] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, [...path, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => placeholders(v, [...path, k]));
  return [];
}
