/**
 * IAM: the task execution role, one least-privilege task role per component, the Jenkins deploy role.
 * Role names are fixed because iam/jenkins-deploy-policy.json may pass only these roles to ECS (iam:PassRole).
 */
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { CATALOGUE, COMPONENT_NAMES, type ComponentName } from "../../src/core/catalogue.js";
import { jenkinsDeployPolicy } from "./jenkins-policy.js";
import { partitionOf, type StackEnvironment } from "./inputs.js";

export const EXECUTION_ROLE_NAME = "lgtm-ecs-execution";
export const taskRoleName = (c: ComponentName): string => `lgtm-ecs-task-${c}`;
export const JENKINS_ROLE_NAME = "lgtm-jenkins-deploy";

/** What Alloy's prometheus.exporter.cloudwatch calls (dockerfiles/alloy/config.alloy; Alloy's reference, "Authentication"). None has resource-level permissions. */
export const ALLOY_CLOUDWATCH_ACTIONS = ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics", "tag:GetResources"];

/** The S3 key prefixes a component owns in the shared bucket, from the catalogue, without trailing slash. */
export function s3Prefixes(c: ComponentName): string[] {
  return Object.values(CATALOGUE[c].s3Prefixes).map((p) => p.replace(/\/+$/, ""));
}

/** The IAM resource of a secret reference: ECS's valueFrom may add :json-key:stage:id; a partial ARN gets -?????? */
export function secretResource(ref: string): { action: string; resource: string } {
  if (ref.includes(":ssm:")) return { action: "ssm:GetParameters", resource: ref };
  const base = ref.split(":").slice(0, 7).join(":");
  return { action: "secretsmanager:GetSecretValue", resource: /-[A-Za-z0-9]{6}$/.test(base) ? base : `${base}-??????` };
}

export interface Roles {
  execution: iam.Role;
  tasks: Record<ComponentName, iam.Role>;
  jenkins: iam.Role;
}

/** Trust for ECS tasks, limited to this account's ECS (confused-deputy protection, as the ECS guide recommends). */
function ecsTasksPrincipal(env: StackEnvironment): iam.IPrincipal {
  return new iam.ServicePrincipal("ecs-tasks.amazonaws.com").withConditions({
    StringEquals: { "aws:SourceAccount": env.account },
    ArnLike: { "aws:SourceArn": `arn:${partitionOf(env.region)}:ecs:${env.region}:${env.account}:*` },
  });
}

export function createRoles(scope: Construct, env: StackEnvironment, repos: ecr.Repository[], logGroups: logs.LogGroup[]): Roles {
  const partition = partitionOf(env.region);
  const execution = new iam.Role(scope, "ExecutionRole", {
    roleName: EXECUTION_ROLE_NAME,
    description: "ECS task execution: pull the six images, write the six log groups, read Grafana's two secrets",
    assumedBy: ecsTasksPrincipal(env),
  });
  // Written out instead of AmazonECSTaskExecutionRolePolicy, which allows every repository and log group.
  for (const repo of repos) repo.grantPull(execution);
  for (const group of logGroups) {
    group.grantWrite(execution);
    // The task definitions set awslogs-create-group: the driver calls CreateLogGroup and fails on AccessDenied even
    // though the group exists (it tolerates only ResourceAlreadyExists).
    execution.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["logs:CreateLogGroup"], resources: [group.logGroupArn] }));
  }
  // ECS injects task-definition "secrets" with the execution role, not the task role (ECS guide, "Pass sensitive data").
  for (const ref of [env.grafana.adminPasswordSecret, env.grafana.database.passwordSecret]) {
    const { action, resource } = secretResource(ref);
    execution.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [action], resources: [resource] }));
  }

  const bucket = `arn:${partition}:s3:::${env.s3Bucket}`;
  const tasks = {} as Record<ComponentName, iam.Role>;
  for (const c of COMPONENT_NAMES) {
    const role = new iam.Role(scope, `TaskRole${c[0]!.toUpperCase()}${c.slice(1)}`, {
      roleName: taskRoleName(c),
      description: `ECS task role of ${c}`,
      assumedBy: ecsTasksPrincipal(env),
    });
    const prefixes = s3Prefixes(c);
    if (prefixes.length > 0) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: "ListOwnPrefixes",
        actions: ["s3:ListBucket"],
        resources: [bucket],
        conditions: { StringLike: { "s3:prefix": prefixes.flatMap((p) => [p, `${p}/*`]) } },
      }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: "ReadWriteOwnObjects",
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        resources: prefixes.map((p) => `${bucket}/${p}/*`),
      }));
      if (env.stack.bucketKmsKeyArn !== undefined) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: "BucketKey", actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [env.stack.bucketKmsKeyArn] }));
      }
    }
    if (c === "alloy") role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: "CloudWatchRead", actions: ALLOY_CLOUDWATCH_ACTIONS, resources: ["*"] }));
    tasks[c] = role;
  }

  const roleArns = [EXECUTION_ROLE_NAME, ...COMPONENT_NAMES.map(taskRoleName)].map((n) => `arn:${partition}:iam::${env.account}:role/${n}`);
  const jenkins = new iam.Role(scope, "JenkinsDeployRole", {
    roleName: JENKINS_ROLE_NAME,
    description: "Assumed by Jenkins to release with lgtm-deploy (iam/jenkins-deploy-policy.json)",
    assumedBy: env.stack.jenkinsPrincipalArn === undefined ? new iam.AccountPrincipal(env.account) : new iam.ArnPrincipal(env.stack.jenkinsPrincipalArn),
    inlinePolicies: { "lgtm-deploy": iam.PolicyDocument.fromJson(jenkinsDeployPolicy(env, roleArns)) },
  });
  return { execution, tasks, jenkins };
}
