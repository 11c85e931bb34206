import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
} from "@aws-sdk/client-ecr";
import { DescribeClustersCommand, ListClustersCommand, ListServicesCommand, StopTaskCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { InvalidInputError } from "../src/core/errors.js";
import { loadScenarioFile, startEmulator, type Scenario } from "../src/emulator/index.js";
import { Rng } from "../src/emulator/rng.js";
import { FAST, allTasks, createService, ecrClient, ecsClient, emulator, registerTd, sleep, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";


const manifest = (n: number): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 100, digest: `sha256:${"a".repeat(63)}${n}` },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1000 + n, digest: `sha256:${"b".repeat(63)}${n}` }],
  });
const sha = (s: string): string => `sha256:${createHash("sha256").update(s).digest("hex")}`;

describe("ECR", () => {
  it("creates repositories, puts and describes images, enforces immutable tags", async (t) => {
    const emu = await emulator(t);
    const ecr = ecrClient(emu);
    const repo = await ecr.send(
      new CreateRepositoryCommand({ repositoryName: "lgtm/mimir", imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true } }),
    );
    assert.equal(repo.repository!.repositoryUri, "000000000000.dkr.ecr.us-east-1.amazonaws.com/lgtm/mimir");
    assert.equal(repo.repository!.repositoryArn, "arn:aws:ecr:us-east-1:000000000000:repository/lgtm/mimir");
    assert.equal(repo.repository!.imageTagMutability, "IMMUTABLE");
    assert.deepEqual(repo.repository!.imageScanningConfiguration, { scanOnPush: true });
    assert.ok(repo.repository!.createdAt instanceof Date);
    await assert.rejects(ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm/mimir" })), { name: "RepositoryAlreadyExistsException" });
    await assert.rejects(ecr.send(new CreateRepositoryCommand({ repositoryName: "Bad Name" })), { name: "InvalidParameterException" });

    const m1 = manifest(1);
    const put = await ecr.send(new PutImageCommand({ repositoryName: "lgtm/mimir", imageManifest: m1, imageTag: "2.14.0-abc1234" }));
    assert.equal(put.image!.imageId!.imageDigest, sha(m1));
    assert.equal(put.image!.imageManifestMediaType, "application/vnd.oci.image.manifest.v1+json");

    const byTag = await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm/mimir", imageIds: [{ imageTag: "2.14.0-abc1234" }] }));
    assert.equal(byTag.imageDetails![0]!.imageDigest, sha(m1));
    assert.deepEqual(byTag.imageDetails![0]!.imageTags, ["2.14.0-abc1234"]);
    assert.equal(byTag.imageDetails![0]!.imageSizeInBytes, 1001);
    assert.ok(byTag.imageDetails![0]!.imagePushedAt instanceof Date);
    const byDigest = await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm/mimir", imageIds: [{ imageDigest: sha(m1) }] }));
    assert.deepEqual(byDigest.imageDetails![0]!.imageTags, ["2.14.0-abc1234"]);
    await assert.rejects(ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm/mimir", imageIds: [{ imageTag: "nope" }] })), {
      name: "ImageNotFoundException",
    });
    await assert.rejects(ecr.send(new DescribeImagesCommand({ repositoryName: "ghost" })), { name: "RepositoryNotFoundException" });

    // Immutable: the same tag on another manifest is refused; the same manifest again is "already exists".
    await assert.rejects(ecr.send(new PutImageCommand({ repositoryName: "lgtm/mimir", imageManifest: manifest(2), imageTag: "2.14.0-abc1234" })), {
      name: "ImageTagAlreadyExistsException",
    });
    await assert.rejects(ecr.send(new PutImageCommand({ repositoryName: "lgtm/mimir", imageManifest: m1, imageTag: "2.14.0-abc1234" })), {
      name: "ImageAlreadyExistsException",
    });
    // A second tag on the same digest is fine.
    await ecr.send(new PutImageCommand({ repositoryName: "lgtm/mimir", imageManifest: m1, imageTag: "2.14.0" }));
    const both = await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm/mimir" }));
    assert.equal(both.imageDetails!.length, 1);
    assert.deepEqual(both.imageDetails![0]!.imageTags, ["2.14.0", "2.14.0-abc1234"]);

    // Mutable repository: a tag moves to the new digest.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "loki" }));
    await ecr.send(new PutImageCommand({ repositoryName: "loki", imageManifest: manifest(3), imageTag: "latest" }));
    await ecr.send(new PutImageCommand({ repositoryName: "loki", imageManifest: manifest(4), imageTag: "latest" }));
    const moved = await ecr.send(new DescribeImagesCommand({ repositoryName: "loki", imageIds: [{ imageTag: "latest" }] }));
    assert.equal(moved.imageDetails![0]!.imageDigest, sha(manifest(4)));

    const got = await ecr.send(new BatchGetImageCommand({ repositoryName: "lgtm/mimir", imageIds: [{ imageTag: "2.14.0" }, { imageTag: "missing" }] }));
    assert.equal(got.images![0]!.imageManifest, m1);
    assert.deepEqual(got.failures, [{ imageId: { imageTag: "missing" }, failureCode: "ImageNotFound", failureReason: "Requested image not found" }]);

    const repos = await ecr.send(new DescribeRepositoriesCommand({}));
    assert.deepEqual(repos.repositories!.map((r) => r.repositoryName), ["lgtm/mimir", "loki"]);
    await assert.rejects(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["ghost"] })), { name: "RepositoryNotFoundException" });

    const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = auth.authorizationData![0]!;
    assert.equal(data.proxyEndpoint, emu.url);
    assert.match(Buffer.from(data.authorizationToken!, "base64").toString(), /^AWS:.+/);
    assert.ok(data.expiresAt! > new Date());

    await assert.rejects(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "loki" })), { name: "LifecyclePolicyNotFoundException" });
    const policy = JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 5 }, action: { type: "expire" } }] });
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: "loki", lifecyclePolicyText: policy }));
    const lp = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "loki" }));
    assert.equal(lp.lifecyclePolicyText, policy);
    await assert.rejects(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: "loki", lifecyclePolicyText: "{" })), { name: "InvalidParameterException" });
  });

  it("a task whose ECR image is missing stops with CannotPullContainerError until the image is pushed", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const ecr = ecrClient(emu);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "grafana" }));
    const image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/grafana:11.3.0";
    const td = await registerTd(ecs, "grafana", image);
    await createService(ecs, { name: "grafana", taskDefinition: td, desiredCount: 1 });
    const tasks = await waitFor(() => allTasks(ecs, "grafana"), (ts) => ts.some((x) => x.lastStatus === "STOPPED"));
    const failed = tasks.find((x) => x.lastStatus === "STOPPED")!;
    assert.equal(failed.stopCode, "TaskFailedToStart");
    assert.match(failed.stoppedReason!, /^CannotPullContainerError: .*grafana:11\.3\.0.*not found/);
    assert.equal(failed.startedAt, undefined);
    assert.match(failed.containers![0]!.reason!, /^CannotPullContainerError/);

    // Pushing the tag lets the next attempt start; the digest is the pushed one.
    const m = manifest(7);
    await ecr.send(new PutImageCommand({ repositoryName: "grafana", imageManifest: m, imageTag: "11.3.0" }));
    await waitSteady(ecs, "grafana");
    const running = (await allTasks(ecs, "grafana")).find((x) => x.lastStatus === "RUNNING")!;
    assert.equal(running.containers![0]!.imageDigest, sha(m));

    // Same for the loopback registry host and a digest reference.
    const td2 = await registerTd(ecs, "grafana", `127.0.0.1:${emu.port}/grafana@sha256:${"0".repeat(64)}`);
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "grafana", taskDefinition: td2 }));
    const t2 = await waitFor(() => allTasks(ecs, "grafana"), (ts) => ts.some((x) => x.taskDefinitionArn === td2 && x.lastStatus === "STOPPED"));
    const pullFailed = t2.find((x) => x.taskDefinitionArn === td2 && x.lastStatus === "STOPPED")!;
    assert.equal(pullFailed.stopCode, "TaskFailedToStart");
    assert.match(pullFailed.stoppedReason!, /CannotPullContainerError/);
  });
});

describe("API fault injection", () => {
  it("throttles: maxAttempts 1 sees ThrottlingException, standard retries get through", async (t) => {
    const emu = await emulator(t, { api: { DescribeClusters: { throttleBurst: 2 } } });
    const once = ecsClient(emu, { maxAttempts: 1 });
    await assert.rejects(once.send(new DescribeClustersCommand({})), (e: Error & { $metadata: { httpStatusCode?: number } }) => {
      assert.equal(e.name, "ThrottlingException");
      assert.equal(e.message, "Rate exceeded");
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
    const retrying = ecsClient(emu, { maxAttempts: 3, retryMode: "standard" });
    const ok = await retrying.send(new DescribeClustersCommand({}));
    assert.equal(ok.$metadata.attempts, 2);
    assert.deepEqual(
      emu.calls().map((c) => [c.operation, c.status, c.errorType]),
      [
        ["DescribeClusters", 400, "ThrottlingException"],
        ["DescribeClusters", 400, "ThrottlingException"],
        ["DescribeClusters", 200, undefined],
      ],
    );
    // Rate 1 throttles every call; other operations are unaffected.
    emu.mergeScenario({ api: { ListClusters: { throttleRate: 1 } } });
    await assert.rejects(once.send(new ListClustersCommand({})), { name: "ThrottlingException" });
    await once.send(new DescribeClustersCommand({}));
  });

  it("5xx ServerException is retried by the SDK; dropped connections too; latency is added", async (t) => {
    const emu = await emulator(t, { api: { ListServices: { errorRate: 1 } } });
    const ecs = ecsClient(emu);
    await ecs.send(new (await import("@aws-sdk/client-ecs")).CreateClusterCommand({ clusterName: "lgtm" }));
    await assert.rejects(ecs.send(new ListServicesCommand({ cluster: "lgtm" })), (e: Error & { $metadata: { httpStatusCode?: number }; $fault?: string }) => {
      assert.equal(e.name, "ServerException");
      assert.equal(e.$metadata.httpStatusCode, 500);
      assert.equal(e.$fault, "server");
      return true;
    });
    const retrying = ecsClient(emu, { maxAttempts: 2, retryMode: "standard" });
    await assert.rejects(retrying.send(new ListServicesCommand({ cluster: "lgtm" })), (e: Error & { $metadata: { attempts?: number } }) => {
      assert.equal(e.$metadata.attempts, 2);
      return true;
    });
    assert.equal(emu.calls().filter((c) => c.operation === "ListServices" && c.status === 500).length, 3);

    // Dropped connection: find a seed whose first draw drops and whose second does not.
    let seed = 1;
    for (; seed < 1000; seed += 1) {
      const r = new Rng(seed);
      if (r.next() < 0.5 && r.next() >= 0.5) break;
    }
    emu.setScenario({ timing: FAST, seed, api: { DescribeClusters: { dropRate: 0.5 } } });
    emu.clearCalls();
    const flaky = ecsClient(emu, { maxAttempts: 3, retryMode: "standard" });
    const ok = await flaky.send(new DescribeClustersCommand({ clusters: ["lgtm"] }));
    assert.equal(ok.clusters![0]!.clusterName, "lgtm");
    assert.equal(ok.$metadata.attempts, 2);
    assert.deepEqual(emu.calls().map((c) => [c.status, c.errorType]), [[0, "ConnectionDropped"], [200, undefined]]);
    emu.setScenario({ timing: FAST, api: { DescribeClusters: { dropRate: 1 } } });
    await assert.rejects(ecsClient(emu).send(new DescribeClustersCommand({})), (e: Error & { code?: string }) => {
      assert.match(`${e.code ?? ""} ${e.message}`, /ECONNRESET|socket hang up/);
      return true;
    });

    emu.setScenario({ timing: FAST, api: { "*": { latencyMs: 60 } } });
    const started = Date.now();
    await ecs.send(new ListClustersCommand({}));
    assert.ok(Date.now() - started >= 55, "latency applied to every operation via '*'");
  });

  it("the call log lists every call in order and marks the mutating ones", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const ecr = ecrClient(emu);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "mimir" }));
    await ecr.send(new PutImageCommand({ repositoryName: "mimir", imageManifest: manifest(1), imageTag: "1" }));
    await ecr.send(new BatchGetImageCommand({ repositoryName: "mimir", imageIds: [{ imageTag: "1" }] }));
    const td = await registerTd(ecs, "mimir", "000000000000.dkr.ecr.us-east-1.amazonaws.com/mimir:1");
    await createService(ecs, { name: "mimir", taskDefinition: td, desiredCount: 1 });
    await waitSteady(ecs, "mimir");
    const [task] = await allTasks(ecs, "mimir");
    await ecs.send(new StopTaskCommand({ cluster: "lgtm", task: task!.taskArn! }));
    const calls = emu.calls();
    assert.deepEqual(calls.map((c) => c.seq), calls.map((_, i) => i + 1));
    const byOp = new Map(calls.map((c) => [c.operation, c]));
    for (const op of ["CreateRepository", "PutImage", "RegisterTaskDefinition", "CreateCluster", "CreateService", "StopTask"]) {
      assert.equal(byOp.get(op)?.mutating, true, op);
    }
    for (const op of ["BatchGetImage", "DescribeServices", "ListTasks", "DescribeTasks"]) assert.equal(byOp.get(op)?.mutating, false, op);
    assert.equal(byOp.get("PutImage")!.service, "ecr");
    assert.equal(byOp.get("CreateService")!.service, "ecs");
    assert.deepEqual((byOp.get("CreateService")!.input as { serviceName: string }).serviceName, "mimir");
    assert.equal(byOp.get("CreateService")!.region, "us-east-1");
    assert.ok(!Number.isNaN(Date.parse(calls[0]!.time)));

    // The control endpoint shows the same log and can clear it.
    const viaHttp = (await (await fetch(`${emu.url}/_emulator/calls`)).json()) as { calls: unknown[] };
    assert.equal(viaHttp.calls.length, calls.length);
    const cleared = await fetch(`${emu.url}/_emulator/calls`, { method: "DELETE" });
    assert.deepEqual(await cleared.json(), { cleared: calls.length });
    assert.equal(emu.calls().length, 0);
  });
});

describe("control endpoint, scenario files, lifecycle", () => {
  it("replaces and merges the scenario over HTTP, rejects bad ones, exposes state", async (t) => {
    const emu = await emulator(t);
    const put = await fetch(`${emu.url}/_emulator/scenario`, {
      method: "PUT",
      body: JSON.stringify({ timing: FAST, api: { ListClusters: { throttleBurst: 1 } } }),
    });
    assert.equal(put.status, 200);
    const patch = await fetch(`${emu.url}/_emulator/scenario`, {
      method: "PATCH",
      body: JSON.stringify({ images: { "x:1": { behavior: "crash", exitCode: 2 } } }),
    });
    const merged = (await patch.json()) as Scenario;
    assert.deepEqual(Object.keys(merged.api ?? {}), ["ListClusters"]);
    assert.equal(merged.images!["x:1"]!.exitCode, 2);
    const ecs = ecsClient(emu);
    await assert.rejects(ecs.send(new ListClustersCommand({})), { name: "ThrottlingException" });
    await ecs.send(new ListClustersCommand({}));

    const bad = await fetch(`${emu.url}/_emulator/scenario`, { method: "PUT", body: JSON.stringify({ api: { X: { errorRate: 7 } } }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /api\.X\.errorRate/);
    const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { ecs: { clusters: unknown[] }; timing: { drainMs: number } };
    assert.deepEqual(state.ecs.clusters, []);
    assert.equal(state.timing.drainMs, FAST.drainMs);

    // Raw protocol errors.
    const unknown = await fetch(emu.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.LaunchRockets" },
      body: "{}",
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.headers.get("content-type"), "application/x-amz-json-1.1");
    assert.ok(unknown.headers.get("x-amzn-requestid"));
    assert.equal(((await unknown.json()) as { __type: string }).__type, "UnknownOperationException");
    const garbled = await fetch(emu.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters" },
      body: "{not json",
    });
    assert.equal(((await garbled.json()) as { __type: string }).__type, "SerializationException");
  });

  it("loads scenario files and names the file and field on bad input", () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-scenario-"));
    const good = loadScenarioFile("test/fixtures/emulator/crash-loop.json");
    assert.equal(good.images!["grafana/mimir:9.9.9"]!.behavior, "crash");
    assert.equal(good.seed, 42);
    const badField = join(dir, "bad.json");
    writeFileSync(badField, JSON.stringify({ images: { x: { behavior: "explode" } } }));
    assert.throws(() => loadScenarioFile(badField), (e: Error) => {
      assert.ok(e instanceof InvalidInputError);
      assert.ok(e.message.includes(badField));
      assert.match(e.message, /images\.x\.behavior/);
      return true;
    });
    const unknownKey = join(dir, "typo.json");
    writeFileSync(unknownKey, JSON.stringify({ timings: {} }));
    assert.throws(() => loadScenarioFile(unknownKey), /timings/);
    const notJson = join(dir, "broken.json");
    writeFileSync(notJson, "{");
    assert.throws(() => loadScenarioFile(notJson), (e: Error) => e instanceof InvalidInputError && e.message.includes("not valid JSON"));
    assert.throws(() => loadScenarioFile(join(dir, "absent.json")), (e: Error) => e instanceof InvalidInputError && e.message.includes("absent.json"));
  });

  it("listens on 127.0.0.1 only, shuts down via the endpoint, and after its max lifetime", async () => {
    const born = Date.now();
    const a = await startEmulator({ maxLifetimeMs: 400 });
    assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${a.url}/_emulator/health`)).status, 200);
    await waitFor(
      () => fetch(`${a.url}/_emulator/health`).then(() => "up", () => "down"),
      (v) => v === "down",
      5000,
      20,
    );
    assert.ok(Date.now() - born >= 380, "stayed up until its max lifetime");
    await a.close(); // idempotent

    const b = await startEmulator();
    const res = await fetch(`${b.url}/_emulator/shutdown`, { method: "POST" });
    assert.deepEqual(await res.json(), { ok: true });
    await sleep(30);
    await assert.rejects(fetch(`${b.url}/_emulator/health`));
    await b.close();

    const c = await startEmulator({ port: 0 });
    await assert.rejects(startEmulator({ port: c.port }), /EADDRINUSE/);
    await c.close();
  });
});
