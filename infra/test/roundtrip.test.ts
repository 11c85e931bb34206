/**
 * The output contract end to end: the synthesized template's Outputs, "deployed" (each intrinsic replaced by a value
 * of the shape CloudFormation returns for that resource type), read back by env sync's own code, must validate and
 * land every value in the field that belongs to it; the result renders all six task and service definitions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { CATALOGUE, COMPONENT_NAMES } from "../../src/core/catalogue.js";
import { parseEnvironment } from "../../src/core/environment.js";
import { parseDescribeStacks, spliceOutputs, syncOutputs, withoutOutputs } from "../../src/core/env-sync.js";
import { renderService, renderTaskDefinition } from "../../src/core/render.js";
import { makeTag } from "../../src/core/tag.js";
import { Project } from "../../src/adapters/files.js";
import { REPO_ROOT } from "../lib/inputs.js";
import { synth, targetGroupOnPort, type Json } from "./helpers.js";

const s = synth();
const { account, region } = s.env;
const hex = (seed: string, n: number) => createHash("sha1").update(seed).digest("hex").slice(0, n);

/** What CloudFormation returns for Ref / Fn::GetAtt of the resource types the outputs use. */
function physical(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Json;
  const res = s.json.Resources as Json;
  if ("Fn::Join" in v) return (v["Fn::Join"][1] as unknown[]).map(physical).join(v["Fn::Join"][0]);
  const [logical, attr] = "Ref" in v ? [v.Ref as string, "Ref"] : (v["Fn::GetAtt"] as [string, string]);
  const r = res[logical];
  const key = `${r.Type} ${attr}`;
  switch (key) {
    case "AWS::ECS::Cluster Arn": return `arn:aws:ecs:${region}:${account}:cluster/${r.Properties.ClusterName}`;
    case "AWS::ServiceDiscovery::PrivateDnsNamespace Id": return `ns-${hex(logical, 16)}`;
    case "AWS::ServiceDiscovery::Service Arn": return `arn:aws:servicediscovery:${region}:${account}:service/srv-${hex(logical, 16)}`;
    case "AWS::IAM::Role Arn": return `arn:aws:iam::${account}:role/${r.Properties.RoleName}`;
    case "AWS::EC2::SecurityGroup GroupId": return `sg-${hex(logical, 17)}`;
    case "AWS::ElasticLoadBalancingV2::LoadBalancer DNSName": return `internal-LgtmPr-LoadB-${hex(logical, 12).toUpperCase()}-1283694512.${region}.elb.amazonaws.com`;
    case "AWS::ElasticLoadBalancingV2::TargetGroup Ref": return `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/LgtmPr-${hex(logical, 12)}/${hex(logical + "id", 16)}`;
    case "AWS::CloudWatch::Alarm Ref": return r.Properties.AlarmName;
    default: throw new Error(`no physical value modelled for ${key}`);
  }
}

test("template outputs -> describe-stacks -> env sync -> a valid environment with every value in its field -> six renders", () => {
  const outputs = Object.entries(s.json.Outputs as Json).map(([OutputKey, o]) => ({ OutputKey, OutputValue: physical(o.Value), Description: o.Description }));
  const doc = { Stacks: [{ StackName: "lgtm-prod", StackId: `arn:aws:cloudformation:${region}:${account}:stack/lgtm-prod/${hex("id", 8)}-0000-0000-0000-000000000000`, StackStatus: "CREATE_COMPLETE", CreationTime: "2026-10-06T01:12:44.318000+00:00", Outputs: outputs }] };
  const file = path.join(REPO_ROOT, "environments/prod.json");
  const inputs = withoutOutputs(readFileSync(file, "utf8"));
  const result = syncOutputs(parseEnvironment("prod", "environments/prod.json", inputs), parseDescribeStacks(JSON.stringify(doc), "stack.json"), "stack.json");
  assert.deepEqual(result.warnings, []);
  const env = parseEnvironment("prod", "environments/prod.json", spliceOutputs(inputs, result.outputs));
  const out = env.outputs!;

  const tgArn = (port: number) => physical({ Ref: targetGroupOnPort(s, port) });
  assert.deepEqual(
    Object.fromEntries(Object.entries(out.loadBalancers).map(([c, lb]) => [c, lb!.targetGroupArn])),
    { mimir: tgArn(9009), loki: tgArn(3100), grafana: tgArn(3000) },
  );
  for (const c of COMPONENT_NAMES) {
    assert.equal(out.roles.taskRoleArns[c], `arn:aws:iam::${account}:role/lgtm-ecs-task-${c}`);
    const svc = Object.entries(s.json.Resources as Json).find(([, r]) => r.Type === "AWS::ServiceDiscovery::Service" && r.Properties.Name === c)![0];
    assert.equal(out.cloudMap.services[c], physical({ "Fn::GetAtt": [svc, "Arn"] }), c);
  }
  assert.equal(out.roles.executionRoleArn, `arn:aws:iam::${account}:role/lgtm-ecs-execution`);
  assert.equal(out.roles.jenkinsDeployRoleArn, `arn:aws:iam::${account}:role/lgtm-jenkins-deploy`);
  assert.equal(out.clusterArn, `arn:aws:ecs:${region}:${account}:cluster/lgtm`);
  assert.equal(out.network.securityGroups.length, 1);
  for (const c of ["grafana", "mimir", "loki"] as const) assert.deepEqual(out.deploymentAlarms[c], [`lgtm-prod-${c}-target-5xx`, `lgtm-prod-${c}-healthy-hosts-low`]);

  const project = new Project(REPO_ROOT);
  const image = { tag: makeTag({ version: "1.0.0", sha: "0123456" }) };
  for (const c of COMPONENT_NAMES) {
    const td = renderTaskDefinition(c, env, image, project.templates(c).taskDefinition);
    const svc = renderService(c, env, image, project.templates(c).service);
    assert.equal(td.taskRoleArn, out.roles.taskRoleArns[c]);
    assert.equal(svc.serviceRegistries![0]!.registryArn, out.cloudMap.services[c]);
    assert.deepEqual(svc.networkConfiguration!.awsvpcConfiguration!.securityGroups, out.network.securityGroups);
    const lb = out.loadBalancers[c];
    assert.deepEqual(svc.loadBalancers, lb === undefined ? [] : [{ targetGroupArn: lb.targetGroupArn, containerName: c, containerPort: CATALOGUE[c].ports[0]!.containerPort }]);
  }
});
