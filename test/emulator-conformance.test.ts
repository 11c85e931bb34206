// Conformance with the AWS API models (botocore's ecs, ecr and logs service-2.json, copied into
// test/fixtures/emulator/botocore/): every operation the emulator answers exists in its model, one run through every
// operation — successes and errors — conforms, and the checker itself catches what it is meant to catch. Every other
// emulator test checks its responses the same way (fixtures/emulator/helpers.ts `emulator`, test/helpers/emulator.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  ListImagesCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
} from "@aws-sdk/client-ecr";
import {
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListServiceDeploymentsCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  StopServiceDeploymentCommand,
  StopTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { ECR_OPERATIONS } from "../src/emulator/ecr/api.js";
import { ECS_OPERATIONS } from "../src/emulator/ecs/api/index.js";
import { startEmulator } from "../src/emulator/index.js";
import { LOGS_OPERATIONS } from "../src/emulator/logs/api.js";
import { ConformanceLog, checkResponse, model } from "./fixtures/emulator/conformance.js";
import { FAST, allTasks, createService, ecrClient, ecsClient, registerTd, waitSteady } from "./fixtures/emulator/helpers.js";

const ignore = async (p: Promise<unknown>): Promise<void> => {
  await p.then(
    () => undefined,
    () => undefined,
  );
};

describe("conformance with the AWS API models", () => {
  it("every operation the emulator answers is in its service's model", () => {
    for (const [service, ops] of [["ecs", ECS_OPERATIONS], ["ecr", ECR_OPERATIONS], ["logs", LOGS_OPERATIONS]] as const) {
      for (const op of Object.keys(ops)) assert.ok(model(service).operations[op], `${service}:${op}`);
    }
  });

  it("the checker catches wrong types, unknown and missing members, enums, millisecond timestamps, undeclared errors", () => {
    const service = (patch: Record<string, unknown>) => ({
      service: "ecs" as const,
      operation: "DescribeServices",
      status: 200,
      body: { services: [{ serviceName: "x", deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } }, ...patch }], failures: [] },
    });
    assert.deepEqual(checkResponse(service({})), []);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ desiredCount: "3" }, /desiredCount: expected an integer/],
      [{ launchType: "LAMBDA" }, /launchType: "LAMBDA" is not one of/],
      [{ colour: "blue" }, /has no member colour/],
      [{ createdAt: Date.now() }, /createdAt: .* looks like milliseconds/],
      [{ deploymentConfiguration: { deploymentCircuitBreaker: { enable: true } } }, /deploymentCircuitBreaker\.rollback: required/],
      [{ deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true, thresholdConfiguration: { type: "MOST", value: 1 } } } }, /thresholdConfiguration\.type: not an enum value/],
      [{ deployments: [{ rolloutState: "DONE" }] }, /rolloutState: "DONE" is not one of/],
    ];
    for (const [patch, expected] of cases) assert.ok(checkResponse(service(patch)).some((v) => expected.test(v)), `${JSON.stringify(patch)}: ${checkResponse(service(patch)).join("; ")}`);
    assert.deepEqual(checkResponse({ service: "ecs", operation: "UpdateService", status: 400, body: { __type: "RepositoryNotFoundException", message: "x" } }).length, 1);
    assert.deepEqual(checkResponse({ service: "ecs", operation: "UpdateService", status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } }), []);
    assert.ok(checkResponse({ service: "logs", operation: "GetLogEvents", status: 200, body: { events: [{ timestamp: 1.5 }] } }).some((v) => /expected an integer/.test(v)));
  });

  it("one pass through every operation, successes and errors, conforms", async () => {
    const log = new ConformanceLog();
    const emu = await startEmulator({ onResponse: log.onResponse, scenario: { timing: FAST, images: { "grafana/loki:bad": { behavior: "crash", afterMs: 0 } } } });
    try {
      const ecs = ecsClient(emu);
      const ecr = ecrClient(emu);
      const logs = new CloudWatchLogsClient({ endpoint: emu.url, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" }, maxAttempts: 1 });
      // ECR.
      await ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-loki", imageTagMutability: "IMMUTABLE" }));
      await ignore(ecr.send(new CreateRepositoryCommand({ repositoryName: "lgtm-loki" })));
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [{ size: 3 }] });
      await ecr.send(new PutImageCommand({ repositoryName: "lgtm-loki", imageManifest: manifest, imageTag: "3.1.0" }));
      await ignore(ecr.send(new PutImageCommand({ repositoryName: "lgtm-loki", imageManifest: `${manifest} `, imageTag: "3.1.0" })));
      await ecr.send(new DescribeRepositoriesCommand({}));
      await ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm-loki" }));
      await ignore(ecr.send(new DescribeImagesCommand({ repositoryName: "lgtm-loki", imageIds: [{ imageTag: "nope" }] })));
      await ecr.send(new ListImagesCommand({ repositoryName: "lgtm-loki" }));
      await ecr.send(new BatchGetImageCommand({ repositoryName: "lgtm-loki", imageIds: [{ imageTag: "3.1.0" }, { imageTag: "x" }] }));
      await ecr.send(new GetAuthorizationTokenCommand({}));
      await ignore(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "lgtm-loki" })));
      await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: "lgtm-loki", lifecyclePolicyText: JSON.stringify({ rules: [] }) }));
      await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "lgtm-loki" }));
      // ECS.
      const good = await registerTd(ecs, "loki", "000000000000.dkr.ecr.us-east-1.amazonaws.com/lgtm-loki:3.1.0", {
        logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/loki", "awslogs-stream-prefix": "ecs" } },
        healthCheck: { command: ["CMD", "loki", "-health"] },
      });
      const svc = await createService(ecs, { name: "loki", taskDefinition: good, desiredCount: 2, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true, resetOnHealthyTask: false, thresholdConfiguration: { type: "COUNT", value: 2 } } } });
      await waitSteady(ecs, "loki");
      await ecs.send(new DescribeClustersCommand({ clusters: ["lgtm", "ghost"], include: ["TAGS"] }));
      await ecs.send(new ListClustersCommand({}));
      await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "loki", include: ["TAGS"] }));
      await ecs.send(new ListTaskDefinitionsCommand({}));
      await ecs.send(new ListTaskDefinitionFamiliesCommand({}));
      await ecs.send(new ListServicesCommand({ cluster: "lgtm" }));
      await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["loki", "ghost"], include: ["TAGS"] }));
      await ignore(ecs.send(new DescribeServicesCommand({ cluster: "ghost", services: ["loki"] })));
      const bad = await registerTd(ecs, "loki", "grafana/loki:bad");
      const upd = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", taskDefinition: bad }));
      await waitSteady(ecs, "loki");
      await ignore(ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", platformVersion: "0.0.1" })));
      const tasks = await allTasks(ecs, "loki");
      await ecs.send(new DescribeTasksCommand({ cluster: "lgtm", tasks: [...tasks.map((x) => x.taskArn!).slice(0, 99), "deadbeef"], include: ["TAGS"] }));
      await ecs.send(new ListTasksCommand({ cluster: "lgtm", desiredStatus: "STOPPED" }));
      const hist = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "loki" }));
      const arns = hist.serviceDeployments!.map((d) => d.serviceDeploymentArn!);
      const desc = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [...arns, `${arns[0]}x`] }));
      await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: desc.serviceDeployments!.map((d) => d.targetServiceRevision!.arn!) }));
      await ignore(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: upd.service!.currentServiceDeployment! })));
      await ecs.send(new TagResourceCommand({ resourceArn: svc.serviceArn!, tags: [{ key: "a", value: "b" }] }));
      await ecs.send(new UntagResourceCommand({ resourceArn: svc.serviceArn!, tagKeys: ["a"] }));
      await ecs.send(new ListTagsForResourceCommand({ resourceArn: good }));
      const running = (await allTasks(ecs, "loki")).find((x) => x.lastStatus === "RUNNING")!;
      await ecs.send(new StopTaskCommand({ cluster: "lgtm", task: running.taskArn!, reason: "conformance" }));
      // CloudWatch Logs.
      await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/other" }));
      await logs.send(new DescribeLogGroupsCommand({}));
      const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/loki", orderBy: "LastEventTime", descending: true }));
      await ignore(logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/loki", logStreamName: "nope" })));
      await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/loki", logStreamName: streams.logStreams![0]!.logStreamName!, startFromHead: true }));
      await logs.send(new FilterLogEventsCommand({ logGroupName: "/ecs/loki", filterPattern: "panic" }));
      // Cleanup operations last.
      await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", desiredCount: 0 }));
      await ecs.send(new DeleteServiceCommand({ cluster: "lgtm", service: "loki" }));
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: bad }));
      await ecr.send(new BatchDeleteImageCommand({ repositoryName: "lgtm-loki", imageIds: [{ imageTag: "3.1.0" }, { imageTag: "x" }] }));
      await ecr.send(new DeleteRepositoryCommand({ repositoryName: "lgtm-loki" }));
      const unseen = [
        ...Object.keys(ECS_OPERATIONS).map((o) => `ecs:${o}`),
        ...Object.keys(ECR_OPERATIONS).map((o) => `ecr:${o}`),
        ...Object.keys(LOGS_OPERATIONS).map((o) => `logs:${o}`),
      ].filter((o) => !log.seen.has(o));
      assert.deepEqual(unseen, [], "every operation was exercised");
      log.assertClean();
    } finally {
      await emu.close();
    }
  });
});
