// StopServiceDeployment (ROLLBACK, ABORT), the service deployment status lifecycle and currentServiceDeployment,
// over HTTP with the real SDK v3 client. docs/emulator.md, "Service deployments".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DescribeServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type ECSClient,
  type ServiceDeployment,
} from "@aws-sdk/client-ecs";
import { NETWORK, allTasks, createService, describeService, ecsClient, emulator, registerTd, sleep, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

const describeSd = async (ecs: ECSClient, arn: string): Promise<ServiceDeployment> =>
  (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }))).serviceDeployments![0]!;

async function slowUpdate(t: Parameters<typeof emulator>[0]) {
  // stopMs 300: the stopped new tasks take a while to go, so the rollback stays observable.
  const emu = await emulator(t, { timing: { stopMs: 300 }, images: { "grafana/mimir:slow": { behavior: "slow", startDelayMs: 400 } } });
  const ecs = ecsClient(emu);
  const td1 = await registerTd(ecs, "mimir", "grafana/mimir:2.14.0");
  await createService(ecs, { name: "mimir", taskDefinition: td1, desiredCount: 2 });
  const before = await waitSteady(ecs, "mimir");
  const td2 = await registerTd(ecs, "mimir", "grafana/mimir:slow");
  const otherNetwork = { awsvpcConfiguration: { ...NETWORK.awsvpcConfiguration, subnets: ["subnet-0def"] } };
  const out = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "mimir", taskDefinition: td2, networkConfiguration: otherNetwork }));
  return { emu, ecs, td1, td2, before, arn: out.service!.currentServiceDeployment!, newId: out.service!.deployments![0]!.id! };
}

describe("StopServiceDeployment", () => {
  it("ROLLBACK: ROLLBACK_REQUESTED → ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL, the whole previous revision restored", async (t) => {
    const { ecs, td1, before, arn, newId } = await slowUpdate(t);
    await waitFor(() => describeSd(ecs, arn), (sd) => sd.status === "IN_PROGRESS");
    const stop = await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" }));
    assert.equal(stop.serviceDeploymentArn, arn);
    assert.equal((await describeSd(ecs, arn)).status === "ROLLBACK_REQUESTED" || (await describeSd(ecs, arn)).status === "ROLLBACK_IN_PROGRESS", true);
    const rolling = await waitFor(() => describeSd(ecs, arn), (sd) => sd.status === "ROLLBACK_IN_PROGRESS");
    assert.equal(rolling.rollback!.serviceRevisionArn, rolling.sourceServiceRevisions![0]!.arn);
    assert.ok(rolling.rollback!.startedAt instanceof Date);
    // Repeating the request while it rolls back is fine: the rollback continues.
    await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn }));
    const done = await waitSteady(ecs, "mimir");
    assert.equal(done.taskDefinition, td1);
    assert.equal(done.deployments![0]!.id, before.deployments![0]!.id, "the previous deployment is PRIMARY again");
    assert.deepEqual(done.networkConfiguration, NETWORK, "the network configuration of the previous revision is back");
    assert.equal(done.currentServiceDeployment, arn, "a rollback creates no new service deployment");
    assert.ok(!done.deployments!.some((d) => d.id === newId));
    const finished = await describeSd(ecs, arn);
    assert.equal(finished.status, "ROLLBACK_SUCCESSFUL");
    assert.ok(finished.finishedAt! >= finished.rollback!.startedAt!);
    assert.ok(done.events!.some((e) => e.message === `(service mimir) rolling back to deployment ${before.deployments![0]!.id}.`));
    await assert.rejects(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn })), { name: "ConflictException" });
  });

  it("ABORT: STOP_REQUESTED → STOPPED; the deployment launches no more tasks and the old tasks keep running", async (t) => {
    const { ecs, td1, td2, arn } = await slowUpdate(t);
    await waitFor(() => allTasks(ecs, "mimir"), (ts) => ts.some((x) => x.taskDefinitionArn === td2));
    await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ABORT" }));
    const stopped = await waitFor(() => describeSd(ecs, arn), (sd) => sd.status === "STOPPED");
    assert.ok(stopped.stoppedAt instanceof Date);
    await sleep(700);
    const tasks = await allTasks(ecs, "mimir");
    const fresh = tasks.filter((x) => x.taskDefinitionArn === td2);
    assert.ok(fresh.length <= 2, `no task launched after the abort (${fresh.length})`);
    const s = await describeService(ecs, "mimir");
    assert.equal(s.deployments!.length, 2, "both revisions stay");
    assert.ok(tasks.filter((x) => x.taskDefinitionArn === td1 && x.lastStatus === "RUNNING").length >= 1, "old tasks keep running");
  });

  it("errors: unknown deployment, bad stopType, nothing to roll back to", async (t) => {
    const emu = await emulator(t, { images: { "grafana/mimir:slow": { behavior: "slow", startDelayMs: 300 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "mimir", "grafana/mimir:slow");
    const svc = await createService(ecs, { name: "mimir", taskDefinition: td, desiredCount: 1 });
    const arn = svc.currentServiceDeployment!;
    await assert.rejects(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: `${arn.slice(0, -3)}xyz` })), { name: "ServiceDeploymentNotFoundException" });
    const bad = await fetch(emu.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.StopServiceDeployment" },
      body: JSON.stringify({ serviceDeploymentArn: arn, stopType: "PAUSE" }),
    });
    assert.equal(((await bad.json()) as { __type: string }).__type, "InvalidParameterException");
    // The first deployment of a service has no previous revision: the request is accepted, the rollback fails.
    await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" }));
    const sd = await waitFor(() => describeSd(ecs, arn), (x) => x.status === "ROLLBACK_FAILED");
    assert.match(sd.statusReason!, /no previous service revision/);
  });
});

describe("deployment alarms (the alarm action)", () => {
  it("an alarm in ALARM during the deployment fails it and rolls back; the service deployment shows the alarm", async (t) => {
    const emu = await emulator(t, { timing: { stopMs: 300 }, images: { "grafana/grafana:slow": { behavior: "slow", startDelayMs: 400 } } });
    const ecs = ecsClient(emu);
    const alarms = { alarmNames: ["lgtm-grafana-5xx"], enable: true, rollback: true };
    const td1 = await registerTd(ecs, "grafana", "grafana/grafana:11.3.0");
    await createService(ecs, { name: "grafana", taskDefinition: td1, desiredCount: 1, deploymentConfiguration: { alarms } });
    const before = await waitSteady(ecs, "grafana");
    const act = (body: unknown) => fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify(body) });
    assert.equal((await act({ type: "alarm", service: "grafana", alarmName: "lgtm-grafana-5xx" })).status, 409, "nothing is being deployed");
    const td2 = await registerTd(ecs, "grafana", "grafana/grafana:slow");
    const out = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "grafana", taskDefinition: td2 }));
    const arn = out.service!.currentServiceDeployment!;
    const monitoring = await waitFor(() => describeSd(ecs, arn), (sd) => sd.status === "IN_PROGRESS");
    assert.deepEqual(monitoring.alarms, { status: "MONITORING", alarmNames: ["lgtm-grafana-5xx"], triggeredAlarmNames: [] });
    assert.equal((await act({ type: "alarm", service: "grafana", alarmName: "other" })).status, 409, "an alarm the service does not watch");
    assert.equal((await act({ type: "alarm", service: "grafana", alarmName: "lgtm-grafana-5xx" })).status, 200);
    const rolling = await describeSd(ecs, arn);
    assert.equal(rolling.status, "ROLLBACK_IN_PROGRESS");
    assert.deepEqual(rolling.alarms, { status: "TRIGGERED", alarmNames: ["lgtm-grafana-5xx"], triggeredAlarmNames: ["lgtm-grafana-5xx"] });
    const done = await waitSteady(ecs, "grafana");
    assert.equal(done.taskDefinition, td1);
    assert.equal(done.deployments![0]!.id, before.deployments![0]!.id);
    const messages = done.events!.map((e) => e.message);
    assert.ok(messages.includes(`(service grafana) (deployment ${out.service!.deployments![0]!.id}) deployment failed: alarm detected.`), messages.join("\n"));
    assert.equal((await describeSd(ecs, arn)).status, "ROLLBACK_SUCCESSFUL");
  });
});
