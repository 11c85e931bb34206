import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { CATALOGUE, COMPONENT_NAMES } from "../../src/core/catalogue.js";
import { lifecyclePolicyText } from "../../src/core/build.js";
import { stackOutputs } from "../../src/core/stack-outputs.js";
import { REPO_ROOT } from "../lib/inputs.js";
import { ALARMS, HEALTH_CHECK, ROUTES, healthyHostsLowPeriods, minimumHealthyHosts } from "../lib/routes.js";
import { prodWith, resourcesOfType, routeOf, synth, targetGroupOnPort, type Json } from "./helpers.js";

const s = synth();
const { template, json } = s;
const prod = s.env;
const pascal = (c: string) => `${c[0]!.toUpperCase()}${c.slice(1)}`;
const ingressRules = () => resourcesOfType(json, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
const logicalOf = (type: string, pred: (props: Json) => boolean): string => {
  const found = resourcesOfType(json, type).filter(([, r]) => pred(r.Properties));
  assert.equal(found.length, 1, `one ${type} expected`);
  return found[0]![0];
};
const tasksGroup = logicalOf("AWS::EC2::SecurityGroup", (p) => /tasks$/.test(p.GroupDescription));
const albGroup = logicalOf("AWS::EC2::SecurityGroup", (p) => /load balancer$/.test(p.GroupDescription));

describe("inventory: what the stack creates, and what it must never create", () => {
  test("exact resource counts", () => {
    const counts: Record<string, number> = {};
    for (const r of Object.values(json.Resources as Json)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
    assert.deepEqual(counts, {
      "AWS::ECS::Cluster": 1,
      "AWS::ServiceDiscovery::PrivateDnsNamespace": 1,
      "AWS::ServiceDiscovery::Service": 6,
      "AWS::ECR::Repository": 6,
      "AWS::Logs::LogGroup": 6,
      "AWS::IAM::Role": 8, // execution, six task roles, Jenkins
      "AWS::IAM::Policy": 6, // execution + five task roles with statements (Grafana's has none)
      "AWS::EC2::SecurityGroup": 2,
      "AWS::EC2::SecurityGroupIngress": 13, // 10 catalogue ports tasks<->tasks, 3 ALB->tasks
      "AWS::EC2::SecurityGroupEgress": 3, // ALB -> the three routed tasks
      "AWS::ElasticLoadBalancingV2::LoadBalancer": 1,
      "AWS::ElasticLoadBalancingV2::Listener": 1,
      "AWS::ElasticLoadBalancingV2::ListenerRule": 3,
      "AWS::ElasticLoadBalancingV2::TargetGroup": 3,
      "AWS::CloudWatch::Alarm": 6,
    });
  });

  test("never creates the VPC, subnets, routes, the bucket, secrets, ECS services or task definitions", () => {
    for (const type of [
      "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::NatGateway", "AWS::EC2::InternetGateway",
      "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::SecretsManager::Secret", "AWS::SSM::Parameter",
      "AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::ECS::TaskSet", "AWS::ECS::CapacityProvider",
    ]) template.resourceCountIs(type, 0);
    // No lookup and no zone list rendered: the imported VPC's availability zones are never used.
    assert.doesNotMatch(JSON.stringify(json), /Fn::GetAZs/);
  });

  test("references the existing VPC, subnets and bucket by the environment's ids", () => {
    template.hasResourceProperties("AWS::ServiceDiscovery::PrivateDnsNamespace", { Vpc: "vpc-0123456789abcdef0" });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { Subnets: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] });
    assert.match(JSON.stringify(json), /arn:aws:s3:::sys-lgtm-s3\/ftt-loki\/\*/);
  });
});

test("cluster: the environment's name, Container Insights on", () => {
  template.hasResourceProperties("AWS::ECS::Cluster", { ClusterName: "lgtm", ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }] });
});

describe("Cloud Map", () => {
  test("private DNS namespace lgtm.local in the VPC", () => {
    template.hasResourceProperties("AWS::ServiceDiscovery::PrivateDnsNamespace", { Name: "lgtm.local", Vpc: "vpc-0123456789abcdef0" });
  });
  for (const c of COMPONENT_NAMES) {
    test(`service ${c}: A records, TTL 10 s, multivalue, ECS-reported health`, () => {
      template.hasResourceProperties("AWS::ServiceDiscovery::Service", {
        Name: c,
        DnsConfig: { DnsRecords: [{ Type: "A", TTL: 10 }], RoutingPolicy: "MULTIVALUE" },
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      });
    });
  }
});

describe("ECR repositories", () => {
  for (const c of COMPONENT_NAMES) {
    test(`lgtm-${c}: immutable tags, scan on push, lifecycle keeps ecr.keepImages (50), retained`, () => {
      template.hasResource("AWS::ECR::Repository", {
        Properties: {
          RepositoryName: `lgtm-${c}`,
          ImageTagMutability: "IMMUTABLE",
          ImageScanningConfiguration: { ScanOnPush: true },
          EncryptionConfiguration: { EncryptionType: "AES256" },
          LifecyclePolicy: { LifecyclePolicyText: lifecyclePolicyText(50) },
        },
        DeletionPolicy: "Retain",
      });
    });
  }
  test("the lifecycle rule follows the environment's keepImages", () => {
    const other = synth(prodWith((e) => (e.ecr.keepImages = 7)));
    other.template.hasResourceProperties("AWS::ECR::Repository", { LifecyclePolicy: { LifecyclePolicyText: Match.stringLikeRegexp('"countNumber":7') } });
  });
});

test("log groups: <logGroupPrefix>/<component>, retention from stack.logRetentionDays, retained", () => {
  for (const c of COMPONENT_NAMES) template.hasResource("AWS::Logs::LogGroup", { Properties: { LogGroupName: `/ecs/lgtm/${c}`, RetentionInDays: 30 }, DeletionPolicy: "Retain" });
  synth(prodWith((e) => (e.stack.logRetentionDays = 90))).template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
});

describe("security groups", () => {
  const selfRule = (port: number) => ingressRules().find((r) => r.FromPort === port && r.ToPort === port && r.GroupId["Fn::GetAtt"][0] === tasksGroup && r.SourceSecurityGroupId?.["Fn::GetAtt"]?.[0] === tasksGroup);

  test("tasks to tasks: memberlist 7946 and gRPC 9095, TCP", () => {
    for (const port of [7946, 9095]) assert.equal(selfRule(port)?.IpProtocol, "tcp", `self rule on ${port}`);
  });
  test("tasks to tasks on every catalogue port, and on nothing else", () => {
    const ports = [...new Set(COMPONENT_NAMES.flatMap((c) => CATALOGUE[c].ports.map((p) => p.containerPort)))].sort((a, b) => a - b);
    for (const port of ports) assert.ok(selfRule(port), `self rule on ${port}`);
    const selfPorts = ingressRules().filter((r) => r.SourceSecurityGroupId?.["Fn::GetAtt"]?.[0] === tasksGroup).map((r) => r.FromPort).sort((a: number, b: number) => a - b);
    assert.deepEqual(selfPorts, ports);
  });
  test("load balancer to the routed tasks' ports only (grafana 3000, mimir 9009, loki 3100)", () => {
    const fromAlb = ingressRules().filter((r) => r.SourceSecurityGroupId?.["Fn::GetAtt"]?.[0] === albGroup).map((r) => [r.FromPort, r.ToPort, r.GroupId["Fn::GetAtt"][0]]);
    assert.deepEqual(fromAlb.sort(), [[3000, 3000, tasksGroup], [3100, 3100, tasksGroup], [9009, 9009, tasksGroup]].sort());
    const egress = resourcesOfType(json, "AWS::EC2::SecurityGroupEgress").map(([, r]) => [r.Properties.GroupId["Fn::GetAtt"][0], r.Properties.DestinationSecurityGroupId["Fn::GetAtt"][0], r.Properties.FromPort]);
    assert.deepEqual(egress.sort(), [[albGroup, tasksGroup, 3000], [albGroup, tasksGroup, 3100], [albGroup, tasksGroup, 9009]].sort());
  });
  test("agents to the load balancer: the listener port from stack.loadBalancerIngress, never from anywhere", () => {
    const props = json.Resources[albGroup].Properties;
    assert.deepEqual(props.SecurityGroupIngress, [{ CidrIp: "10.0.0.0/16", Description: "agents and users to the load balancer", FromPort: 80, IpProtocol: "tcp", ToPort: 80 }]);
    const inline = resourcesOfType(json, "AWS::EC2::SecurityGroup").flatMap(([, r]) => (r.Properties.SecurityGroupIngress ?? []) as Json[]);
    const open = [...inline, ...ingressRules()].filter((r) => r.CidrIp === "0.0.0.0/0" || r.CidrIpv6 === "::/0");
    assert.deepEqual(open, [], "no ingress from anywhere");
    const withGroup = synth(prodWith((e) => (e.stack.loadBalancerIngress = { cidrs: [], securityGroups: ["sg-0fedcba9876543210"] })));
    withGroup.template.hasResourceProperties("AWS::EC2::SecurityGroup", { SecurityGroupIngress: [Match.objectLike({ SourceSecurityGroupId: "sg-0fedcba9876543210", FromPort: 80 })] });
    assert.throws(() => synth(prodWith((e) => (e.stack.loadBalancerIngress = { cidrs: [], securityGroups: [] }))), /stack.loadBalancerIngress: name at least one CIDR or security group/);
  });
});

describe("internal load balancer", () => {
  test("internal, in the environment's subnets, invalid headers dropped", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internal",
      Type: "application",
      LoadBalancerAttributes: Match.arrayWith([{ Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" }]),
    });
  });
  test("listener: HTTP 80, unknown paths get a fixed 404", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 80, Protocol: "HTTP", DefaultActions: [Match.objectLike({ Type: "fixed-response", FixedResponseConfig: Match.objectLike({ StatusCode: "404" }) })] });
  });

  const tg = { grafana: targetGroupOnPort(s, 3000), mimir: targetGroupOnPort(s, 9009), loki: targetGroupOnPort(s, 3100) };
  const routes: Array<[string, string]> = [
    ["/api/v1/push", tg.mimir], // Prometheus remote write from the hybrid agents
    ["/otlp/v1/metrics", tg.mimir], // OTLP metrics
    ["/prometheus/api/v1/query", tg.mimir],
    ["/loki/api/v1/push", tg.loki], // Loki push from the hybrid agents
    ["/otlp/v1/logs", tg.loki], // OTLP logs
    ["/loki/api/v1/query_range", tg.loki],
    ["/api/health", tg.grafana],
    ["/d/abc/dashboard", tg.grafana],
    ["/", tg.grafana],
    ["/api/v1/pushx", tg.grafana], // exact match only: not Mimir's push path
  ];
  for (const [path, target] of routes) {
    test(`path ${path} goes to ${Object.entries(tg).find(([, v]) => v === target)![0]}`, () => assert.equal(routeOf(s, path), target));
  }
  test("without a routed grafana, unknown paths get the 404", () => {
    const noGrafana = synth(prodWith((e) => delete e.loadBalancers.grafana));
    assert.equal(routeOf(noGrafana, "/d/abc"), "fixed-response 404");
    assert.equal(routeOf(noGrafana, "/api/v1/push"), targetGroupOnPort(noGrafana, 9009));
  });

  for (const c of ["grafana", "mimir", "loki"] as const) {
    test(`${c} target group: IP targets, health check ${CATALOGUE[c].readyPath}, deregistration delay ${ROUTES[c]!.deregistrationDelaySeconds} s`, () => {
      const http = CATALOGUE[c].ports.find((p) => p.name === "http")!.containerPort;
      template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
        Port: http,
        Protocol: "HTTP",
        TargetType: "ip",
        VpcId: "vpc-0123456789abcdef0",
        HealthCheckPath: CATALOGUE[c].readyPath,
        HealthCheckPort: String(http),
        HealthCheckIntervalSeconds: HEALTH_CHECK.intervalSeconds,
        HealthCheckTimeoutSeconds: HEALTH_CHECK.timeoutSeconds,
        HealthyThresholdCount: HEALTH_CHECK.healthyThresholdCount,
        UnhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
        Matcher: { HttpCode: "200" },
        TargetGroupAttributes: Match.arrayWith([{ Key: "deregistration_delay.timeout_seconds", Value: String(ROUTES[c]!.deregistrationDelaySeconds) }]),
      });
    });
  }
  test("health checks: /ready for mimir and loki, /api/health for grafana; delays shorter than the ALB's 300 s default", () => {
    assert.deepEqual([CATALOGUE.mimir.readyPath, CATALOGUE.loki.readyPath, CATALOGUE.grafana.readyPath], ["/ready", "/ready", "/api/health"]);
    for (const r of Object.values(ROUTES)) assert.ok(r.deregistrationDelaySeconds > 0 && r.deregistrationDelaySeconds < 300);
  });
  test("a routed component without routing rules is an error naming the environment field", () => {
    assert.throws(() => synth(prodWith((e) => (e.loadBalancers.tempo = { healthCheckGracePeriodSeconds: 60 }))), /loadBalancers.tempo: infra\/lib\/routes.ts has no routing rules for tempo/);
  });
});

describe("deployment alarms per routed component", () => {
  test("the healthy-hosts-low math: ECS's rounding, at least 1; periods cover the grace period", () => {
    assert.deepEqual([minimumHealthyHosts(3, 66), minimumHealthyHosts(2, 50), minimumHealthyHosts(1, 100), minimumHealthyHosts(1, 0), minimumHealthyHosts(4, 75)], [2, 1, 1, 1, 3]);
    assert.deepEqual([healthyHostsLowPeriods(1200), healthyHostsLowPeriods(600), healthyHostsLowPeriods(60), healthyHostsLowPeriods(0)], [21, 11, 2, 1]);
  });
  test("the environment's desired count and grace period reach the alarm", () => {
    const t = synth(prodWith((e) => { e.components = { mimir: { desiredCount: 6 } }; e.loadBalancers.mimir!.healthCheckGracePeriodSeconds = 1500; })).template;
    const a = Object.values(t.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: "lgtm-prod-mimir-healthy-hosts-low" } }))[0] as Json;
    assert.equal(a.Properties.EvaluationPeriods, 26);
    assert.match((a.Properties.Metrics as Json[]).find((m) => m.Expression)!.Expression, /< 4 AND/);
  });
  for (const c of ["grafana", "mimir", "loki"] as const) {
    const tgFullName = { "Fn::GetAtt": [targetGroupOnPort(s, CATALOGUE[c].ports[0]!.containerPort), "TargetGroupFullName"] };
    test(`${c}: target 5xx`, () => {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        AlarmName: `lgtm-prod-${c}-target-5xx`,
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_Target_5XX_Count",
        Statistic: "Sum",
        Period: ALARMS.target5xx.periodSeconds,
        Threshold: ALARMS.target5xx.threshold,
        EvaluationPeriods: ALARMS.target5xx.evaluationPeriods,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        Dimensions: Match.arrayWith([{ Name: "TargetGroup", Value: tgFullName }]),
      });
    });
    test(`${c}: healthy hosts below the service's minimum while one is unhealthy, longer than a replacement — not "any unhealthy target"`, () => {
      const alarms = template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: `lgtm-prod-${c}-healthy-hosts-low` } });
      assert.equal(Object.keys(alarms).length, 1);
      const p = (Object.values(alarms)[0] as Json).Properties;
      // Expected per component (prod: catalogue counts and percentages, environment grace periods).
      const expected = { mimir: { floor: 2, grace: 1200 }, loki: { floor: 1, grace: 600 }, grafana: { floor: 1, grace: 60 } }[c];
      assert.equal(minimumHealthyHosts(CATALOGUE[c].tasks, CATALOGUE[c].deployment.minimumHealthyPercent), expected.floor);
      assert.equal(prod.loadBalancers[c]!.healthCheckGracePeriodSeconds, expected.grace);
      assert.deepEqual([p.Threshold, p.ComparisonOperator, p.TreatMissingData], [1, "GreaterThanOrEqualToThreshold", "notBreaching"]);
      // Longer than a replacement: the grace period ECS lets a new task stay unready, plus one period.
      assert.equal(p.EvaluationPeriods, Math.ceil(expected.grace / 60) + 1);
      assert.ok(p.EvaluationPeriods * 60 > expected.grace);
      assert.equal(p.MetricName, undefined, "a metric-math alarm, not a single metric");
      const metrics = p.Metrics as Json[];
      const expr = metrics.find((m) => m.Expression !== undefined)!;
      assert.equal(expr.Expression, `IF(FILL(healthy, 0) < ${expected.floor} AND FILL(unhealthy, 0) >= 1, 1, 0)`);
      assert.equal(expr.ReturnData, true);
      const stat = (id: string) => metrics.find((m) => m.Id === id)!;
      assert.deepEqual([stat("healthy").MetricStat.Metric.MetricName, stat("healthy").MetricStat.Stat, stat("healthy").MetricStat.Period, stat("healthy").ReturnData], ["HealthyHostCount", "Minimum", 60, false]);
      assert.deepEqual([stat("unhealthy").MetricStat.Metric.MetricName, stat("unhealthy").MetricStat.Stat, stat("unhealthy").ReturnData], ["UnHealthyHostCount", "Maximum", false]);
      for (const id of ["healthy", "unhealthy"]) assert.ok((stat(id).MetricStat.Metric.Dimensions as Json[]).some((d) => d.Name === "TargetGroup" && JSON.stringify(d.Value) === JSON.stringify(tgFullName)), id);
      // No alarm of the stack fires on "any unhealthy target" any more.
      for (const a of Object.values(template.findResources("AWS::CloudWatch::Alarm")) as Json[]) assert.notEqual(a.Properties.MetricName, "UnHealthyHostCount");
    });
  }
});

describe("outputs: exactly the contract of src/core/stack-outputs.ts, each wired to the right resource", () => {
  const outputs = json.Outputs as Json;
  const byLogical = (id: string) => json.Resources[id];
  test("keys equal the contract for the routed components", () => {
    assert.deepEqual(Object.keys(outputs).sort(), stackOutputs(["grafana", "mimir", "loki"]).map((o) => o.key).sort());
  });
  for (const c of COMPONENT_NAMES) {
    test(`${c}: Cloud Map service and task role`, () => {
      const svc = outputs[`CloudMapService${pascal(c)}`].Value["Fn::GetAtt"];
      assert.deepEqual([byLogical(svc[0]).Type, byLogical(svc[0]).Properties.Name, svc[1]], ["AWS::ServiceDiscovery::Service", c, "Arn"]);
      const role = outputs[`TaskRole${pascal(c)}`].Value["Fn::GetAtt"];
      assert.deepEqual([byLogical(role[0]).Properties.RoleName, role[1]], [`lgtm-ecs-task-${c}`, "Arn"]);
    });
  }
  for (const c of ["grafana", "mimir", "loki"] as const) {
    test(`${c}: target group and deployment alarms`, () => {
      assert.equal(outputs[`TargetGroup${pascal(c)}`].Value.Ref, targetGroupOnPort(s, CATALOGUE[c].ports[0]!.containerPort));
      const parts = outputs[`DeploymentAlarms${pascal(c)}`].Value["Fn::Join"];
      assert.equal(parts[0], "");
      const names = (parts[1] as Json[]).filter((p) => typeof p !== "string").map((p) => byLogical(p.Ref).Properties.AlarmName);
      assert.deepEqual(names, [`lgtm-prod-${c}-target-5xx`, `lgtm-prod-${c}-healthy-hosts-low`]);
      assert.deepEqual((parts[1] as unknown[]).filter((p) => typeof p === "string"), [","]);
    });
  }
  test("execution role, Jenkins role, tasks security group, load balancer DNS name, cluster, namespace", () => {
    assert.equal(byLogical(outputs.ExecutionRoleArn.Value["Fn::GetAtt"][0]).Properties.RoleName, "lgtm-ecs-execution");
    assert.equal(byLogical(outputs.JenkinsDeployRoleArn.Value["Fn::GetAtt"][0]).Properties.RoleName, "lgtm-jenkins-deploy");
    assert.deepEqual(outputs.TasksSecurityGroups.Value, { "Fn::GetAtt": [tasksGroup, "GroupId"] });
    assert.equal(byLogical(outputs.LoadBalancerDnsName.Value["Fn::GetAtt"][0]).Type, "AWS::ElasticLoadBalancingV2::LoadBalancer");
    assert.equal(byLogical(outputs.ClusterArn.Value["Fn::GetAtt"][0]).Type, "AWS::ECS::Cluster");
    assert.equal(byLogical(outputs.CloudMapNamespaceId.Value["Fn::GetAtt"][0]).Type, "AWS::ServiceDiscovery::PrivateDnsNamespace");
  });
});

test("stack: name lgtm-<env>, the environment's account and region, termination protection, tags", () => {
  assert.equal(s.stack.stackName, "lgtm-prod");
  assert.equal(s.stack.account, "123456789012");
  assert.equal(s.stack.region, "ap-northeast-2");
  assert.equal(s.stack.terminationProtection, true);
  template.hasResourceProperties("AWS::ECS::Cluster", { Tags: Match.arrayWith([{ Key: "environment", Value: "prod" }, { Key: "lgtm:environment", Value: "prod" }, { Key: "project", Value: "lgtm" }]) });
});

test("the README states this resource count", () => {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  assert.equal(Number(/What the stack for prod creates \((\d+) resources/.exec(readme)?.[1]), Object.keys(json.Resources).length);
});
