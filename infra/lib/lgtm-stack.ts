/**
 * Everything an lgtm-deploy release assumes, for one environment: cluster, Cloud Map namespace and services, ECR
 * repositories, IAM roles, internal ALB with target groups, security groups, log groups, deployment alarms.
 *
 * It references and never creates what exists and holds data: the VPC and subnets, the bucket, the secrets. It never
 * owns ECS services or task definitions: lgtm-deploy does (CloudFormation would fight the releases and deregister
 * the revisions a rollback needs).
 */
import { Annotations, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Tags, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import * as servicediscovery from "aws-cdk-lib/aws-servicediscovery";
import type { Construct } from "constructs";
import { CATALOGUE, COMPONENT_NAMES, repositoryName, type ComponentName } from "../../src/core/catalogue.js";
import { lifecyclePolicyText } from "../../src/core/build.js";
import { routedComponents, stackName } from "../../src/core/environment.js";
import { effectiveSizing } from "../../src/core/render.js";
import { LIST_SEPARATOR, stackOutputs } from "../../src/core/stack-outputs.js";
import type { StackEnvironment } from "./inputs.js";
import { createRoles } from "./roles.js";
import { ALARMS, HEALTH_CHECK, ROUTES, healthyHostsLowPeriods, minimumHealthyHosts } from "./routes.js";

const pascal = (c: string): string => `${c[0]!.toUpperCase()}${c.slice(1)}`;
/** Cloud Map record TTL: short, so a replaced task's address leaves resolvers quickly (memberlist joins by DNS). */
export const DNS_TTL_SECONDS = 10;
/** The memberlist gossip and gRPC ports every ring member uses (catalogue). */
export const RING_PORTS = [7946, 9095];

export class LgtmStack extends Stack {
  constructor(scope: Construct, readonly lgtm: StackEnvironment, props: StackProps = {}) {
    super(scope, `Lgtm${pascal(lgtm.name)}`, {
      ...props,
      stackName: stackName(lgtm),
      env: { account: lgtm.account, region: lgtm.region },
      description: `LGTM on ECS Fargate, environment ${lgtm.name}: everything lgtm-deploy releases into (never the services or task definitions)`,
      terminationProtection: true,
    });
    const env = lgtm;
    for (const [key, value] of Object.entries(env.tags)) Tags.of(this).add(key, value);
    Tags.of(this).add("lgtm:environment", env.name);
    const outputs = new Map<string, string>();
    const routed = routedComponents(env);
    for (const c of routed) if (ROUTES[c] === undefined) throw new Error(`${env.file}: loadBalancers.${c}: infra/lib/routes.ts has no routing rules for ${c}`);

    // Referenced, never created, and no lookup, so synth works offline. Nothing here selects the VPC's subnets by
    // zone (the load balancer gets its subnets by id), so the zone list is never rendered (a test checks).
    const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", { vpcId: env.stack.vpcId, availabilityZones: Fn.getAzs() });
    Annotations.of(vpc).acknowledgeWarning("@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones", "subnets are given by id; the zone list is unused");
    const subnetIds = env.stack.loadBalancerSubnets ?? env.network.subnets;
    const subnets = subnetIds.map((id) => {
      const subnet = ec2.Subnet.fromSubnetId(this, id, id);
      Annotations.of(subnet).acknowledgeWarning("@aws-cdk/aws-ec2:noSubnetRouteTableId", "the stack creates no routes");
      return subnet;
    });

    const cluster = new ecs.Cluster(this, "Cluster", { clusterName: env.cluster, vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    outputs.set("ClusterArn", cluster.clusterArn);

    const namespace = new servicediscovery.PrivateDnsNamespace(this, "Namespace", { name: env.cloudMap.namespace, vpc, description: `LGTM ${env.name}` });
    outputs.set("CloudMapNamespaceId", namespace.namespaceId);
    for (const c of COMPONENT_NAMES) {
      const service = namespace.createService(`Discovery${pascal(c)}`, {
        name: c,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        dnsTtl: Duration.seconds(DNS_TTL_SECONDS),
        routingPolicy: servicediscovery.RoutingPolicy.MULTIVALUE,
        // ECS reports task health to Cloud Map: an unhealthy task's address leaves DNS.
        customHealthCheck: { failureThreshold: 1 },
      });
      outputs.set(`CloudMapService${pascal(c)}`, service.serviceArn);
    }

    const repos = COMPONENT_NAMES.map((c) => {
      const repo = new ecr.Repository(this, `Repository${pascal(c)}`, {
        repositoryName: repositoryName(c, env.ecr.repositoryPrefix),
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        imageScanOnPush: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // The same policy text lgtm-deploy build writes when it creates a repository (src/core/build.ts).
      const cfn = repo.node.defaultChild as ecr.CfnRepository;
      cfn.lifecyclePolicy = { lifecyclePolicyText: lifecyclePolicyText(env.ecr.keepImages) };
      // Explicit, as lgtm-deploy build creates repositories (the L2 leaves the default out).
      cfn.encryptionConfiguration = { encryptionType: "AES256" };
      return repo;
    });

    const logGroups = COMPONENT_NAMES.map(
      (c) => new logs.LogGroup(this, `Logs${pascal(c)}`, { logGroupName: `${env.logGroupPrefix}/${c}`, retention: env.stack.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.RETAIN }),
    );

    const roles = createRoles(this, env, repos, logGroups);
    outputs.set("ExecutionRoleArn", roles.execution.roleArn);
    for (const c of COMPONENT_NAMES) outputs.set(`TaskRole${pascal(c)}`, roles.tasks[c].roleArn);
    outputs.set("JenkinsDeployRoleArn", roles.jenkins.roleArn);

    const { tasksGroup, loadBalancer, listener } = this.network(vpc, subnets, routed);
    outputs.set("TasksSecurityGroups", tasksGroup.securityGroupId);
    outputs.set("LoadBalancerDnsName", loadBalancer.loadBalancerDnsName);

    for (const c of routed) {
      const { targetGroup, alarms } = this.route(c, vpc, listener);
      outputs.set(`TargetGroup${pascal(c)}`, targetGroup.targetGroupArn);
      outputs.set(`DeploymentAlarms${pascal(c)}`, alarms.map((a) => a.alarmName).join(LIST_SEPARATOR));
    }

    this.declareOutputs(outputs, routed);
  }

  /** Tasks ↔ tasks on every catalogue port, ALB → routed tasks, agents → ALB. */
  private network(vpc: ec2.IVpc, subnets: ec2.ISubnet[], routed: ComponentName[]) {
    const env = this.lgtm;
    const tasksGroup = new ec2.SecurityGroup(this, "TasksSecurityGroup", {
      vpc,
      description: `LGTM ${env.name} tasks`,
      // Tasks call AWS APIs (ECR, S3, CloudWatch, Secrets Manager) through NAT or endpoints, and Grafana its database.
      allowAllOutbound: true,
    });
    const ports = [...new Set(COMPONENT_NAMES.flatMap((c) => CATALOGUE[c].ports.map((p) => p.containerPort)))].sort((a, b) => a - b);
    for (const port of ports) {
      const users = COMPONENT_NAMES.filter((c) => CATALOGUE[c].ports.some((p) => p.containerPort === port)).map((c) => `${c} ${CATALOGUE[c].ports.find((p) => p.containerPort === port)!.name}`);
      tasksGroup.addIngressRule(tasksGroup, ec2.Port.tcp(port), `tasks to tasks: ${users.join(", ")}`);
    }

    const albGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurityGroup", { vpc, description: `LGTM ${env.name} internal load balancer`, allowAllOutbound: false });
    const ingress = env.stack.loadBalancerIngress;
    if (ingress.cidrs.length + ingress.securityGroups.length === 0) throw new Error(`${env.file}: stack.loadBalancerIngress: name at least one CIDR or security group (the agents, Grafana's users)`);
    for (const cidr of ingress.cidrs) albGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), "agents and users to the load balancer");
    for (const sg of ingress.securityGroups) albGroup.addIngressRule(ec2.Peer.securityGroupId(sg), ec2.Port.tcp(80), "agents and users to the load balancer");
    for (const c of routed) {
      const port = this.containerPort(c);
      albGroup.connections.allowTo(tasksGroup, ec2.Port.tcp(port), `load balancer to ${c}`);
      const health = CATALOGUE[c].ports.find((p) => p.name === "http")!.containerPort;
      if (health !== port) albGroup.connections.allowTo(tasksGroup, ec2.Port.tcp(health), `load balancer health checks to ${c}`);
    }

    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      vpcSubnets: { subnets },
      internetFacing: false,
      securityGroup: albGroup,
      dropInvalidHeaderFields: true,
    });
    const listener = loadBalancer.addListener("Http", {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // Only the ingress rules above: never 0.0.0.0/0.
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: "text/plain", messageBody: "no LGTM route for this path" }),
    });
    return { tasksGroup, loadBalancer, listener };
  }

  private containerPort(c: ComponentName): number {
    return this.lgtm.loadBalancers[c]?.containerPort ?? CATALOGUE[c].ports.find((p) => p.name === "http")!.containerPort;
  }

  private route(c: ComponentName, vpc: ec2.IVpc, listener: elbv2.ApplicationListener) {
    const route = ROUTES[c]!;
    const health = CATALOGUE[c].ports.find((p) => p.name === "http")!.containerPort;
    const targetGroup = new elbv2.ApplicationTargetGroup(this, `Target${pascal(c)}`, {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: this.containerPort(c),
      deregistrationDelay: Duration.seconds(route.deregistrationDelaySeconds),
      healthCheck: {
        path: CATALOGUE[c].readyPath,
        port: String(health),
        healthyHttpCodes: "200",
        interval: Duration.seconds(HEALTH_CHECK.intervalSeconds),
        timeout: Duration.seconds(HEALTH_CHECK.timeoutSeconds),
        healthyThresholdCount: HEALTH_CHECK.healthyThresholdCount,
        unhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
      },
    });
    listener.addTargetGroups(`Route${pascal(c)}`, { priority: route.priority, conditions: [elbv2.ListenerCondition.pathPatterns(route.paths)], targetGroups: [targetGroup] });
    const name = (suffix: string) => `${stackName(this.lgtm)}-${c}-${suffix}`;
    const alarms = [
      new cloudwatch.Alarm(this, `Alarm${pascal(c)}Target5xx`, {
        alarmName: name(ALARMS.target5xx.suffix),
        alarmDescription: `${c}: targets answered 5xx (lgtm-deploy deployment alarm)`,
        metric: targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.seconds(ALARMS.target5xx.periodSeconds), statistic: "Sum" }),
        threshold: ALARMS.target5xx.threshold,
        evaluationPeriods: ALARMS.target5xx.evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No requests, no datapoints: that is not a failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.healthyHostsLowAlarm(c, targetGroup, name(ALARMS.healthyHostsLow.suffix)),
    ];
    return { targetGroup, alarms };
  }

  /** ALARMS.healthyHostsLow (infra/lib/routes.ts says why): below the minimum healthy count, with a target unhealthy. */
  private healthyHostsLowAlarm(c: ComponentName, targetGroup: elbv2.ApplicationTargetGroup, alarmName: string): cloudwatch.Alarm {
    const period = Duration.seconds(ALARMS.healthyHostsLow.periodSeconds);
    const sizing = effectiveSizing(c, this.lgtm);
    const floor = minimumHealthyHosts(sizing.desiredCount, CATALOGUE[c].deployment.minimumHealthyPercent);
    const grace = this.lgtm.loadBalancers[c]?.healthCheckGracePeriodSeconds ?? 0;
    return new cloudwatch.Alarm(this, `Alarm${pascal(c)}HealthyHostsLow`, {
      alarmName,
      alarmDescription: `${c}: fewer than ${floor} healthy target(s) while one is unhealthy, for longer than a task replacement (lgtm-deploy deployment alarm)`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(healthy, 0) < ${floor} AND FILL(unhealthy, 0) >= 1, 1, 0)`,
        usingMetrics: { healthy: targetGroup.metrics.healthyHostCount({ period, statistic: "Minimum" }), unhealthy: targetGroup.metrics.unhealthyHostCount({ period, statistic: "Maximum" }) },
        period,
        label: `${c} below its minimum healthy count`,
      }),
      threshold: 1,
      evaluationPeriods: healthyHostsLowPeriods(grace),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Exactly the outputs of the contract (src/core/stack-outputs.ts): a missing or extra one fails the synth. */
  private declareOutputs(values: Map<string, string>, routed: ComponentName[]): void {
    const specs = stackOutputs(routed);
    const missing = specs.filter((s) => !values.has(s.key)).map((s) => s.key);
    const extra = [...values.keys()].filter((k) => !specs.some((s) => s.key === k));
    if (missing.length > 0 || extra.length > 0) throw new Error(`stack outputs differ from src/core/stack-outputs.ts: missing ${missing.join(", ") || "none"}, extra ${extra.join(", ") || "none"}`);
    for (const spec of specs) new CfnOutput(this, `Output${spec.key}`, { value: values.get(spec.key)!, description: spec.description }).overrideLogicalId(spec.key);
  }
}
