/**
 * The contract between the CDK stack (infra/) and lgtm-deploy: every CloudFormation output the stack declares, and
 * the field of the environment's "outputs" section it fills. infra/ imports this file to name its outputs and
 * `lgtm-deploy env sync` reads `describe-stacks` output through it, so both sides change together.
 * Keep it free of CDK and of I/O: the bundled helper imports it.
 */
import { COMPONENT_NAMES, type ComponentName } from "./catalogue.js";

export interface StackOutput {
  /** CloudFormation output key (letters and digits only). */
  key: string;
  /** Where the value goes, inside the environment's "outputs" section. */
  path: readonly string[];
  /** A list: CloudFormation outputs are strings, so the stack joins it with LIST_SEPARATOR. */
  list: boolean;
  description: string;
}

export const LIST_SEPARATOR = ",";

const pascal = (c: string): string => `${c[0]!.toUpperCase()}${c.slice(1)}`;
const one = (key: string, path: string[], description: string): StackOutput => ({ key, path, list: false, description });
const many = (key: string, path: string[], description: string): StackOutput => ({ key, path, list: true, description });

/**
 * The stack's outputs for an environment whose load balancer routes `routed` (the keys of its loadBalancers input).
 * Order: as listed here; component outputs in catalogue order.
 */
export function stackOutputs(routed: readonly ComponentName[]): StackOutput[] {
  const routedInOrder = COMPONENT_NAMES.filter((c) => routed.includes(c));
  return [
    one("ClusterArn", ["clusterArn"], "ECS cluster ARN"),
    one("CloudMapNamespaceId", ["cloudMap", "namespaceId"], "Cloud Map private DNS namespace id"),
    ...COMPONENT_NAMES.map((c) => one(`CloudMapService${pascal(c)}`, ["cloudMap", "services", c], `Cloud Map service ARN of ${c} (serviceRegistries)`)),
    one("ExecutionRoleArn", ["roles", "executionRoleArn"], "task execution role ARN (image pull, logs, Grafana's secrets)"),
    ...COMPONENT_NAMES.map((c) => one(`TaskRole${pascal(c)}`, ["roles", "taskRoleArns", c], `task role ARN of ${c}`)),
    one("JenkinsDeployRoleArn", ["roles", "jenkinsDeployRoleArn"], "role Jenkins assumes to release (iam/jenkins-deploy-policy.json)"),
    many("TasksSecurityGroups", ["network", "securityGroups"], "security group ids of the tasks"),
    one("LoadBalancerDnsName", ["loadBalancer", "dnsName"], "internal load balancer DNS name (the hybrid agents push here)"),
    ...routedInOrder.flatMap((c) => [
      one(`TargetGroup${pascal(c)}`, ["loadBalancers", c, "targetGroupArn"], `target group ARN of ${c}`),
      many(`DeploymentAlarms${pascal(c)}`, ["deploymentAlarms", c], `CloudWatch alarm names for ${c}'s deployments`),
    ]),
  ];
}

/** Builds the environment's "outputs" object from output values by key (values already looked up). */
export function outputsFromValues(specs: readonly StackOutput[], values: ReadonlyMap<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = values.get(spec.key);
    if (value === undefined) continue;
    let node = root;
    for (const part of spec.path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[spec.path[spec.path.length - 1]!] = spec.list ? value.split(LIST_SEPARATOR).map((v) => v.trim()).filter((v) => v !== "") : value;
  }
  return root;
}
