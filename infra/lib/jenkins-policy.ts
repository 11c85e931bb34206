/**
 * The Jenkins deploy role's policy: iam/jenkins-deploy-policy.json is the one source. The file names the AWS
 * documentation account 123456789012; the stack binds it to the environment's account and partition and checks
 * that it reaches this environment's cluster, services, repositories and task roles (a policy written for another
 * cluster name would otherwise create a role that cannot release).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { COMPONENT_NAMES, repositoryName, serviceName } from "../../src/core/catalogue.js";
import type { Environment } from "../../src/core/environment.js";
import { allows, type Statement } from "./iam-eval.js";
import { partitionOf, REPO_ROOT } from "./inputs.js";

export const POLICY_FILE = "iam/jenkins-deploy-policy.json";
const PLACEHOLDER_ACCOUNT = "123456789012";

export interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

function bind<T>(value: T, account: string, partition: string): T {
  if (typeof value === "string") return value.replaceAll(`:${PLACEHOLDER_ACCOUNT}:`, `:${account}:`).replaceAll("arn:aws:", `arn:${partition}:`) as T;
  if (Array.isArray(value)) return value.map((v) => bind(v, account, partition)) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bind(v, account, partition)])) as T;
  return value;
}

/** The policy bound to `env`; throws listing every release call it would not allow. */
export function jenkinsDeployPolicy(env: Environment, passRoleArns: readonly string[], root = REPO_ROOT): PolicyDocument {
  const raw = JSON.parse(readFileSync(path.join(root, POLICY_FILE), "utf8")) as PolicyDocument;
  const partition = partitionOf(env.region);
  const doc = bind(raw, env.account, partition);
  const arn = (service: string, resource: string) => `arn:${partition}:${service}:${env.region}:${env.account}:${resource}`;
  const cluster = arn("ecs", `cluster/${env.cluster}`);
  const needed: Array<[string, string, Record<string, string>?]> = [
    ["ecs:DescribeClusters", cluster],
    ["ecs:DescribeTasks", arn("ecs", `task/${env.cluster}/0123456789abcdef0123456789abcdef`), { "ecs:cluster": cluster }],
    ["ecs:RegisterTaskDefinition", "*"],
    ["ecr:GetAuthorizationToken", "*"],
    ...COMPONENT_NAMES.flatMap((c): Array<[string, string]> => [
      ...["ecs:CreateService", "ecs:UpdateService", "ecs:DescribeServices"].map((a): [string, string] => [a, arn("ecs", `service/${env.cluster}/${serviceName(c)}`)]),
      ...["ecr:PutImage", "ecr:DescribeImages", "ecr:BatchGetImage"].map((a): [string, string] => [a, arn("ecr", `repository/${repositoryName(c, env.ecr.repositoryPrefix)}`)]),
    ]),
    ...passRoleArns.map((r): [string, string, Record<string, string>] => ["iam:PassRole", r, { "iam:PassedToService": "ecs-tasks.amazonaws.com" }]),
  ];
  const gaps = needed.filter(([action, resource, context]) => !allows(doc.Statement, action, resource, context)).map(([a, r]) => `${a} on ${r}`);
  if (gaps.length > 0) {
    throw new Error(`${POLICY_FILE} does not allow what a release of environment ${env.name} needs:\n  ${gaps.join("\n  ")}\nEdit the policy (the cluster, repository prefix and role names it names) so that it does.`);
  }
  return doc;
}
