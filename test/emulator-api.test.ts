// Response shapes, texts, identifiers, validation and region/account isolation, over HTTP with the real SDK v3
// clients. docs/emulator.md, "Services", "Rolling updates", "Regions and accounts", "Service throttle logic".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import {
  CreateClusterCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ListClustersCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { allTasks, createService, describeService, ecrClient, ecsClient, emulator, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

const GOOD = "grafana/pyroscope:1.9.0";
const GOOD2 = "grafana/pyroscope:1.9.1";

describe("UpdateService response and identifiers", () => {
  it("answers before the scheduler acts: new PRIMARY with desiredCount 0, 'in progress', the old deployment still running", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td1 = await registerTd(ecs, "pyro", GOOD);
    const created = await createService(ecs, { name: "pyro", taskDefinition: td1, desiredCount: 2 });
    assert.equal(created.deployments![0]!.desiredCount, 0, "CreateService answers before the scheduler acts too");
    const before = await waitSteady(ecs, "pyro");
    const td2 = await registerTd(ecs, "pyro", GOOD2);
    const out = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "pyro", taskDefinition: td2 }));
    const svc = out.service!;
    const [fresh, old] = svc.deployments!;
    assert.equal(fresh!.status, "PRIMARY");
    assert.equal(fresh!.taskDefinition, td2);
    assert.equal(fresh!.desiredCount, 0);
    assert.equal(fresh!.runningCount, 0);
    assert.equal(fresh!.pendingCount, 0);
    assert.equal(fresh!.rolloutState, "IN_PROGRESS");
    assert.equal(fresh!.rolloutStateReason, `ECS deployment ${fresh!.id} in progress.`);
    assert.match(fresh!.id!, /^ecs-svc\/\d{19}$/);
    assert.equal(old!.id, before.deployments![0]!.id);
    assert.equal(old!.status, "ACTIVE");
    assert.equal(old!.runningCount, 2);
    assert.equal(old!.rolloutState, "COMPLETED");
    assert.equal(old!.rolloutStateReason, `ECS deployment ${old!.id} completed.`);
    assert.equal(svc.taskDefinition, td2);
    assert.equal(svc.runningCount, 2);
    assert.match(svc.currentServiceDeployment!, /^arn:aws:ecs:us-east-1:000000000000:service-deployment\/lgtm\/pyro\/[0-9A-Za-z]{21}$/);
    assert.notEqual(svc.currentServiceDeployment, before.currentServiceDeployment);
    assert.equal(svc.healthCheckGracePeriodSeconds, 0);
    assert.equal(svc.platformVersion, "LATEST");
    assert.equal(svc.availabilityZoneRebalancing, "ENABLED");
    assert.equal(svc.roleArn, "arn:aws:iam::000000000000:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS");

    // The scheduler's first pass: the new deployment takes the desired count, the old one is scaled to 0 and drains.
    const next = await waitFor(() => describeService(ecs, "pyro"), (s) => s.deployments![0]!.desiredCount === 2);
    const oldNow = next.deployments!.find((d) => d.id === old!.id);
    if (oldNow) assert.equal(oldNow.desiredCount, 0);
    const sd = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [svc.currentServiceDeployment!] }));
    assert.equal(sd.serviceDeployments![0]!.status, "IN_PROGRESS");
    assert.equal(sd.serviceDeployments![0]!.targetServiceRevision!.requestedTaskCount, 2);
    const done = await waitSteady(ecs, "pyro");
    const task = (await allTasks(ecs, "pyro")).find((x) => x.taskDefinitionArn === td2)!;
    assert.match(task.containers![0]!.containerArn!, /^arn:aws:ecs:us-east-1:000000000000:container\/lgtm\/[0-9a-f]{32}\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(task.availabilityZone!, /^us-east-1[abc]$/);
    assert.equal(done.currentServiceRevisions!.length, 1);
    assert.equal(done.currentServiceRevisions![0]!.runningTaskCount, 2);
  });

  it("UpdateService with only desiredCount keeps the deployment; validation errors change nothing", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "pyro", GOOD);
    await createService(ecs, { name: "pyro", taskDefinition: td, desiredCount: 1 });
    const before = await waitSteady(ecs, "pyro");
    const cases: [string, Record<string, unknown>, string][] = [
      ["unknown platform version", { platformVersion: "9.9.9" }, "PlatformUnknownException"],
      ["bad AZ rebalancing", { availabilityZoneRebalancing: "SOMETIMES" }, "InvalidParameterException"],
      ["negative desired count", { desiredCount: -1 }, "InvalidParameterException"],
      ["minimumHealthyPercent above 100", { deploymentConfiguration: { minimumHealthyPercent: 150 } }, "InvalidParameterException"],
      ["alarms without names", { deploymentConfiguration: { alarms: { enable: true, rollback: true } } }, "InvalidParameterException"],
      // DescribeServices shows healthCheckGracePeriodSeconds 0; echoing it back on a service without a load balancer fails.
      ["grace period without a load balancer", { healthCheckGracePeriodSeconds: 0 }, "InvalidParameterException"],
    ];
    for (const [label, patch, type] of cases) {
      const res = await fetch(emu.url, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.UpdateService" },
        body: JSON.stringify({ cluster: "lgtm", service: "pyro", taskDefinition: td, forceNewDeployment: true, desiredCount: 3, ...patch }),
      });
      assert.equal(res.status, 400, label);
      assert.equal(((await res.json()) as { __type: string }).__type, type, label);
    }
    const after = await describeService(ecs, "pyro");
    assert.equal(after.deployments!.length, 1, "a rejected update starts no deployment");
    assert.equal(after.desiredCount, 1, "and changes no setting");
    // An INACTIVE (deregistered) task definition is refused by UpdateService and CreateService.
    const old = await registerTd(ecs, "pyro", GOOD2);
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: old }));
    await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "pyro", taskDefinition: old })), { name: "ClientException", message: "TaskDefinition is inactive." });
    await assert.rejects(createService(ecs, { name: "pyro2", taskDefinition: old, desiredCount: 1 }), { name: "ClientException", message: "TaskDefinition is inactive." });
    const scaled = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "pyro", desiredCount: 2 }));
    assert.equal(scaled.service!.deployments!.length, 1);
    assert.equal(scaled.service!.deployments![0]!.id, before.deployments![0]!.id);
    assert.equal(scaled.service!.currentServiceDeployment, before.currentServiceDeployment);
  });
});

describe("regions and accounts", () => {
  it("resources in one region are invisible from another; foreign ARNs are rejected like ECS rejects them", async (t) => {
    const emu = await emulator(t);
    const east = ecsClient(emu);
    const west = ecsClient(emu, { region: "eu-west-1" });
    await east.send(new CreateClusterCommand({ clusterName: "lgtm" }));
    const td = await registerTd(east, "tempo", "grafana/tempo:2.6.0");
    await assert.rejects(west.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["tempo"] })), { name: "ClusterNotFoundException" });
    assert.deepEqual((await west.send(new ListClustersCommand({}))).clusterArns, []);
    const d = await west.send(new DescribeClustersCommand({ clusters: ["lgtm"] }));
    assert.deepEqual(d.failures!.map((f) => f.reason), ["MISSING"]);
    // eu-west-1 gets its own cluster of the same name; a task definition ARN of us-east-1 is refused there.
    await west.send(new CreateClusterCommand({ clusterName: "lgtm" }));
    await assert.rejects(createService(west, { name: "tempo", taskDefinition: td, desiredCount: 1 }), {
      name: "InvalidParameterException",
      message: "Invalid Region in ARN",
    });
    await assert.rejects(west.send(new DescribeClustersCommand({ clusters: ["arn:aws:ecs:us-east-1:000000000000:cluster/lgtm"] })), {
      name: "InvalidParameterException",
      message: "Invalid Region in ARN",
    });
    // Another account (an access key id of 12 digits names it): its own resources, and ours are refused by ARN.
    const other = ecsClient(emu, { credentials: { accessKeyId: "111122223333", secretAccessKey: "x" } });
    assert.deepEqual((await other.send(new ListClustersCommand({}))).clusterArns, []);
    await other.send(new CreateClusterCommand({ clusterName: "lgtm" }));
    await assert.rejects(createService(other, { name: "tempo", taskDefinition: td, desiredCount: 1 }), {
      name: "InvalidParameterException",
      message: "Identifier is for 000000000000. Your accountId is 111122223333",
    });
    const tg = "arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup/t/0123456789abcdef";
    await assert.rejects(createService(east, { name: "tempo", taskDefinition: td, desiredCount: 1, loadBalancers: [{ targetGroupArn: tg, containerName: "tempo", containerPort: 3200 }] }), {
      name: "InvalidParameterException",
      message: "Invalid Region in ARN",
    });
    // ECR too.
    await ecrClient(emu).send(new CreateRepositoryCommand({ repositoryName: "lgtm-tempo" }));
    assert.deepEqual((await ecrClient(emu, { region: "eu-west-1" }).send(new DescribeRepositoriesCommand({}))).repositories, []);
  });
});

describe("service throttle logic", () => {
  it("repeated start failures back off with the throttle event; a new task definition resets it", async (t) => {
    const emu = await emulator(t, { timing: { launchBackoffMs: 40 } });
    const ecs = ecsClient(emu);
    const missing = "000000000000.dkr.ecr.us-east-1.amazonaws.com/lgtm-loki:missing";
    await ecrClient(emu).send(new CreateRepositoryCommand({ repositoryName: "lgtm-loki" }));
    const td = await registerTd(ecs, "loki", missing);
    await createService(ecs, { name: "loki", taskDefinition: td, desiredCount: 1 });
    const tasks = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.length >= 5 && ts.every((x) => x.lastStatus === "STOPPED"), 5000);
    const created = tasks.map((x) => x.createdAt!.getTime()).sort((a, b) => a - b);
    const gaps = created.slice(1).map((c, i) => c - created[i]!);
    // Each attempt takes ~20 ms (provisioning + pending); the waits after the 2nd and 3rd failures are 40 and 80 ms.
    assert.ok(gaps[1]! >= 40 + 20 && gaps[2]! >= 80 + 20, `gaps ${gaps.join(", ")}`);
    for (const x of tasks.filter((y) => y.lastStatus === "STOPPED")) assert.equal(x.stopCode, "TaskFailedToStart");
    const s = await describeService(ecs, "loki");
    assert.equal(s.events!.filter((e) => e.message === "(service loki) is unable to consistently start tasks successfully.").length, 1);
    // A new task definition: the service launches at once.
    const td2 = await registerTd(ecs, "loki", "grafana/loki:3.1.0");
    const at = Date.now();
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", taskDefinition: td2 }));
    const fresh = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.some((x) => x.taskDefinitionArn === td2), 2000);
    const first = fresh.find((x) => x.taskDefinitionArn === td2)!;
    assert.ok(first.createdAt!.getTime() - at < 150, "no back-off (the next one would be 320 ms) after a new task definition");
  });
});
