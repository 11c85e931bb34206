// Targeted API faults (one service/resource, after N calls, N times, hang) and eventually consistent reads, over HTTP
// with the real SDK v3 clients. docs/emulator.md, "faults" and "consistency".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CreateRepositoryCommand, DescribeImagesCommand } from "@aws-sdk/client-ecr";
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { createService, describeService, ecrClient, ecsClient, emulator, registerTd, sleep, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

/** Two steady services; the scenario's faults and consistency rules apply from then on. */
async function twoServices(t: Parameters<typeof emulator>[0], scenario: NonNullable<Parameters<typeof emulator>[1]>) {
  const emu = await emulator(t);
  const ecs = ecsClient(emu);
  const tempo = await registerTd(ecs, "lgtm-tempo", "grafana/tempo:2.6.0");
  const loki = await registerTd(ecs, "lgtm-loki", "grafana/loki:3.1.0");
  await createService(ecs, { name: "lgtm-tempo", taskDefinition: tempo, desiredCount: 1 });
  await createService(ecs, { name: "lgtm-loki", taskDefinition: loki, desiredCount: 1 });
  await waitSteady(ecs, "lgtm-tempo");
  await waitSteady(ecs, "lgtm-loki");
  emu.mergeScenario(scenario);
  emu.clearCalls();
  return { emu, ecs };
}

const force = (service: string) => new UpdateServiceCommand({ cluster: "lgtm", service, forceNewDeployment: true });

describe("targeted faults", () => {
  it("fails only lgtm-tempo's UpdateService, with the error type asked for", async (t) => {
    const { emu, ecs } = await twoServices(t, {
      faults: [{ operation: "UpdateService", service: "lgtm-tempo", fault: "error", errorType: "AccessDeniedException", message: "denied by test" }],
    });
    await assert.rejects(ecs.send(force("lgtm-tempo")), { name: "AccessDeniedException", message: "denied by test" });
    await assert.rejects(ecs.send(force("arn:aws:ecs:us-east-1:000000000000:service/lgtm/lgtm-tempo")), { name: "AccessDeniedException" });
    await ecs.send(force("lgtm-loki"));
    await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-tempo"] }));
    const calls = emu.calls().map((c) => [c.operation, c.status, c.errorType, c.faultRule]);
    assert.deepEqual(calls, [
      ["UpdateService", 400, "AccessDeniedException", 0],
      ["UpdateService", 400, "AccessDeniedException", 0],
      ["UpdateService", 200, undefined, undefined],
      ["DescribeServices", 200, undefined, undefined],
    ]);
    assert.equal((await describeService(ecs, "lgtm-tempo")).deployments!.length, 1, "the failed call changed nothing");
  });

  it("fails exactly the 2nd UpdateService call (after 1, times 1), as ServerException 500 by default", async (t) => {
    const { emu, ecs } = await twoServices(t, { faults: [{ operation: "UpdateService", after: 1, times: 1, fault: "error" }] });
    await ecs.send(force("lgtm-tempo"));
    await assert.rejects(ecs.send(force("lgtm-loki")), (e: Error & { $metadata: { httpStatusCode?: number } }) => {
      assert.equal(e.name, "ServerException");
      assert.equal(e.$metadata.httpStatusCode, 500);
      return true;
    });
    await ecs.send(force("lgtm-loki"));
    assert.deepEqual(emu.calls().map((c) => c.status), [200, 500, 200]);
  });

  it("hangs DescribeServices once: the client times out, the next call answers, close() does not wait for it", async (t) => {
    const { emu } = await twoServices(t, { faults: [{ operation: "DescribeServices", times: 1, fault: "hang" }] });
    const impatient = ecsClient(emu, { requestHandler: { requestTimeout: 150, throwOnRequestTimeout: true } });
    const started = Date.now();
    await assert.rejects(impatient.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-tempo"] })), (e: Error) => {
      assert.match(`${e.name} ${e.message}`, /Timeout|timed out/i);
      return true;
    });
    assert.ok(Date.now() - started >= 140);
    const ok = await impatient.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-tempo"] }));
    assert.equal(ok.services![0]!.serviceName, "lgtm-tempo");
    assert.deepEqual(emu.calls().map((c) => [c.status, c.errorType]), [[0, "Hung"], [200, undefined]]);
    // A retrying client gets through the hang by itself.
    emu.mergeScenario({ faults: [{ operation: "DescribeServices", times: 1, fault: "hang" }] });
    const patient = ecsClient(emu, { maxAttempts: 2, retryMode: "standard", requestHandler: { requestTimeout: 150, throwOnRequestTimeout: true } });
    const again = await patient.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-loki"] }));
    assert.equal(again.$metadata.attempts, 2);
    // Leave one call hanging: close() must not wait for it.
    emu.mergeScenario({ faults: [{ operation: "ListClusters", fault: "hang" }] });
    const pending = fetch(emu.url, { method: "POST", headers: { "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters" }, body: "{}" }).catch(() => "closed");
    await waitFor(async () => emu.calls().some((c) => c.operation === "ListClusters" && c.errorType === "Hung"), (hung) => hung);
    const closing = Date.now();
    await emu.close();
    assert.ok(Date.now() - closing < 1000);
    assert.equal(await pending, "closed");
  });

  it("a resource rule hits every operation naming it: a repository, a task definition family", async (t) => {
    const emu = await emulator(t, { faults: [{ operation: "*", resource: "lgtm-loki", fault: "throttle" }] });
    const ecr = ecrClient(emu);
    const ecs = ecsClient(emu);
    await assert.rejects(ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-loki" })), { name: "ThrottlingException" });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-tempo" }));
    await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm-tempo" }));
    const td = { requiresCompatibilities: ["FARGATE" as const], networkMode: "awsvpc" as const, cpu: "256", memory: "512" };
    await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...td, family: "lgtm-loki", containerDefinitions: [{ name: "loki", image: "grafana/loki:3.1.0" }] })), {
      name: "ThrottlingException",
    });
    await ecs.send(new RegisterTaskDefinitionCommand({ ...td, family: "lgtm-lokix", containerDefinitions: [{ name: "x", image: "grafana/loki:3.1.0" }] }));
  });
});

describe("eventually consistent reads", () => {
  it("DescribeServices, ListServiceDeployments and DescribeServiceDeployments are stale for lagMs after each UpdateService", async (t) => {
    const { emu, ecs } = await twoServices(t, {
      consistency: { "*": { lagMs: 300, after: ["UpdateService"] } },
    });
    const before = await describeService(ecs, "lgtm-tempo");
    const out = await ecs.send(force("lgtm-tempo"));
    const arn = out.service!.currentServiceDeployment!;
    const started = Date.now();
    const stale = await describeService(ecs, "lgtm-tempo");
    assert.deepEqual(stale.deployments!.map((d) => d.id), before.deployments!.map((d) => d.id), "the new deployment is not visible yet");
    assert.equal(stale.currentServiceDeployment, before.currentServiceDeployment);
    const sd = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    assert.deepEqual(sd.failures!.map((f) => f.reason), ["MISSING"], "DescribeServiceDeployments does not know it yet");
    const list = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "lgtm-tempo" }));
    assert.ok(!list.serviceDeployments!.some((d) => d.serviceDeploymentArn === arn));
    // Another service is not affected; the ground truth is never stale.
    assert.equal((await describeService(ecs, "lgtm-loki")).deployments!.length, 1);
    const truth = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { ecs: { services: { serviceName: string; currentServiceDeployment: string }[] } };
    assert.equal(truth.ecs.services.find((s) => s.serviceName === "lgtm-tempo")!.currentServiceDeployment, arn);
    assert.ok(Date.now() - started < 250, "the checks above ran inside the window");
    // After the window the reads catch up.
    const fresh = await waitFor(() => describeService(ecs, "lgtm-tempo"), (s) => s.currentServiceDeployment === arn, 2000);
    assert.ok(Date.now() - started >= 280, `caught up after ${Date.now() - started} ms`);
    assert.equal(fresh.deployments![0]!.id, out.service!.deployments![0]!.id);
  });

  it("a random-lag rule serves reads from up to lagMs ago; the ground truth and other operations stay live", async (t) => {
    const { emu, ecs } = await twoServices(t, { consistency: { ListTasks: { lagMs: 200, rate: 1 } } });
    const before = await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "lgtm-tempo" }));
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-tempo", desiredCount: 3 }));
    await waitFor(async () => {
      const r = await fetch(`${emu.url}/_emulator/state`);
      return ((await r.json()) as { ecs: { tasks: { serviceName: string; desiredStatus: string }[] } }).ecs.tasks.filter((x) => x.serviceName === "lgtm-tempo" && x.desiredStatus === "RUNNING").length;
    }, (n) => n === 3);
    const lagging = await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "lgtm-tempo" }));
    assert.deepEqual(lagging.taskArns, before.taskArns, "right after the change every read is older than it");
    assert.equal((await describeService(ecs, "lgtm-tempo")).desiredCount, 3, "DescribeServices has no rule: live");
    await sleep(260);
    const settled = await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "lgtm-tempo" }));
    assert.equal(settled.taskArns!.length, 3);
  });
});
