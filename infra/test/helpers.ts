/**
 * Test helpers: synthesize a stack with CDK's built-in template validation off (one test turns it on), resolve the
 * intrinsic functions IAM policies use, and answer questions the way AWS would (policy evaluation, ALB routing).
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type Statement } from "../lib/iam-eval.js";
import { loadEnvironment, type StackEnvironment } from "../lib/inputs.js";
import { LgtmStack } from "../lib/lgtm-stack.js";

export type Json = Record<string, any>;

export interface Synth {
  env: StackEnvironment;
  stack: LgtmStack;
  template: Template;
  json: Json;
}

/** One stack, validation off (the ~6 s CloudFormation validator runs in validation.test.ts only). */
export function synth(env: StackEnvironment = loadEnvironment("prod")): Synth {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new LgtmStack(app, env);
  const template = Template.fromStack(stack);
  return { env, stack, template, json: template.toJSON() };
}

/** prod's environment with changes (a deep copy: tests never share mutated inputs). */
export function prodWith(change: (env: StackEnvironment) => void): StackEnvironment {
  const env = structuredClone(loadEnvironment("prod"));
  change(env);
  return env;
}

export const resourcesOfType = (json: Json, type: string): Array<[string, Json]> => Object.entries(json.Resources as Json).filter(([, r]) => r.Type === type) as Array<[string, Json]>;

/**
 * Resolves Ref, Fn::GetAtt and Fn::Join to the values CloudFormation would produce for the resource types whose
 * names the stack sets (ECR repositories, log groups, roles). Anything else becomes "<unresolved ...>", which never
 * matches an ARN, so a test relying on it fails instead of passing by accident.
 */
export function resolve(value: unknown, s: Synth): unknown {
  const { account, region } = s.env;
  const res = s.json.Resources as Json;
  if (Array.isArray(value)) return value.map((v) => resolve(v, s));
  if (value === null || typeof value !== "object") return value;
  const v = value as Json;
  if ("Ref" in v) {
    const pseudo: Record<string, string> = { "AWS::Partition": "aws", "AWS::AccountId": account, "AWS::Region": region, "AWS::URLSuffix": "amazonaws.com" };
    if (pseudo[v.Ref] !== undefined) return pseudo[v.Ref];
    const r = res[v.Ref];
    if (r?.Type === "AWS::IAM::Role") return r.Properties.RoleName;
    if (r?.Type === "AWS::Logs::LogGroup") return r.Properties.LogGroupName;
    if (r?.Type === "AWS::ECR::Repository") return r.Properties.RepositoryName;
    return `<unresolved Ref ${v.Ref}>`;
  }
  if ("Fn::GetAtt" in v) {
    const [logical, attr] = v["Fn::GetAtt"] as [string, string];
    const r = res[logical];
    if (attr === "Arn" && r?.Type === "AWS::ECR::Repository") return `arn:aws:ecr:${region}:${account}:repository/${r.Properties.RepositoryName}`;
    if (attr === "Arn" && r?.Type === "AWS::Logs::LogGroup") return `arn:aws:logs:${region}:${account}:log-group:${r.Properties.LogGroupName}:*`;
    if (attr === "Arn" && r?.Type === "AWS::IAM::Role") return `arn:aws:iam::${account}:role/${r.Properties.RoleName}`;
    return `<unresolved GetAtt ${logical}.${attr}>`;
  }
  if ("Fn::Join" in v) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return (resolve(parts, s) as unknown[]).join(sep);
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, s)]));
}

/** Every identity-policy statement of the role named `roleName` (inline Policies and attached AWS::IAM::Policy). */
export function roleStatements(s: Synth, roleName: string): Statement[] {
  const roles = resourcesOfType(s.json, "AWS::IAM::Role").filter(([, r]) => r.Properties.RoleName === roleName);
  if (roles.length !== 1) throw new Error(`expected one role named ${roleName}, found ${roles.length}`);
  const [logical, role] = roles[0]!;
  const docs: Json[] = [
    ...((role.Properties.Policies ?? []) as Json[]).map((p) => p.PolicyDocument),
    ...resourcesOfType(s.json, "AWS::IAM::Policy").filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === logical)).map(([, p]) => p.Properties.PolicyDocument),
  ];
  for (const m of role.Properties.ManagedPolicyArns ?? []) throw new Error(`role ${roleName} has a managed policy ${JSON.stringify(m)} the test cannot evaluate`);
  return docs.flatMap((d) => resolve(d.Statement, s) as Statement[]);
}

/** Which target group (logical id) the listener sends `path` to, by ALB rule semantics: lowest priority first. */
export function routeOf(s: Synth, path: string): string {
  const rules = resourcesOfType(s.json, "AWS::ElasticLoadBalancingV2::ListenerRule")
    .map(([, r]) => r.Properties)
    .sort((a, b) => a.Priority - b.Priority);
  const match = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(path);
  for (const rule of rules) {
    const paths = (rule.Conditions as Json[]).filter((c) => c.Field === "path-pattern").flatMap((c) => c.PathPatternConfig?.Values ?? c.Values ?? []);
    if (paths.some(match)) return (rule.Actions as Json[])[0]!.TargetGroupArn.Ref;
  }
  const [, listener] = resourcesOfType(s.json, "AWS::ElasticLoadBalancingV2::Listener")[0]!;
  const action = (listener.Properties.DefaultActions as Json[])[0]!;
  return action.Type === "fixed-response" ? `fixed-response ${action.FixedResponseConfig.StatusCode}` : action.TargetGroupArn.Ref;
}

/** Logical id of the target group whose port is `port`. */
export function targetGroupOnPort(s: Synth, port: number): string {
  const found = resourcesOfType(s.json, "AWS::ElasticLoadBalancingV2::TargetGroup").filter(([, r]) => r.Properties.Port === port);
  if (found.length !== 1) throw new Error(`expected one target group on port ${port}, found ${found.length}`);
  return found[0]![0];
}
