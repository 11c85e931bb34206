import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  type Deployment,
  type RegisterTaskDefinitionCommandInput,
  type Service,
} from "@aws-sdk/client-ecs";
import {
  allTasks,
  createService,
  describeService,
  ecsClient,
  maxConcurrentRunning,
  registerTd,
  sleep,
  waitFor,
  waitSteady,
  emulator,
} from "./fixtures/emulator/helpers.js";


const GOOD = "grafana/mimir:2.14.0";
const GOOD2 = "grafana/mimir:2.14.1";

describe("task definitions", () => {
  it("registers, describes by family / family:rev / ARN, with tags, and deregisters", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const first = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "loki",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "1 vCPU",
        memory: "2 GB",
        containerDefinitions: [{ name: "loki", image: "grafana/loki:3.1.0", portMappings: [{ containerPort: 3100 }] }],
        tags: [{ key: "component", value: "loki" }],
      }),
    );
    const td1 = first.taskDefinition!;
    assert.equal(td1.taskDefinitionArn, "arn:aws:ecs:us-east-1:000000000000:task-definition/loki:1");
    assert.equal(td1.revision, 1);
    assert.equal(td1.status, "ACTIVE");
    assert.equal(td1.cpu, "1024", "vCPU notation is normalised to units");
    assert.equal(td1.memory, "2048");
    assert.ok(td1.registeredAt instanceof Date);
    assert.equal(td1.containerDefinitions![0]!.essential, true);
    assert.deepEqual(td1.containerDefinitions![0]!.portMappings, [{ containerPort: 3100, hostPort: 3100, protocol: "tcp" }]);
    assert.deepEqual(first.tags, [{ key: "component", value: "loki" }]);
    const arn2 = await registerTd(ecs, "loki", "grafana/loki:3.1.1");
    assert.match(arn2, /task-definition\/loki:2$/);

    const byFamily = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "loki" }));
    assert.equal(byFamily.taskDefinition!.revision, 2);
    assert.equal(byFamily.tags, undefined, "tags only when asked for");
    const byRev = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "loki:1", include: ["TAGS"] }));
    assert.equal(byRev.taskDefinition!.containerDefinitions![0]!.image, "grafana/loki:3.1.0");
    assert.deepEqual(byRev.tags, [{ key: "component", value: "loki" }]);
    const byArn = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn2 }));
    assert.equal(byArn.taskDefinition!.containerDefinitions![0]!.image, "grafana/loki:3.1.1");

    const dereg = await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn2 }));
    assert.equal(dereg.taskDefinition!.status, "INACTIVE");
    assert.ok(dereg.taskDefinition!.deregisteredAt instanceof Date);
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "loki" }));
    assert.equal(latest.taskDefinition!.revision, 1, "a bare family resolves to the latest ACTIVE revision");
    await assert.rejects(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "nope" })), { name: "ClientException" });
  });

  it("rejects what ECS rejects for Fargate", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const base: RegisterTaskDefinitionCommandInput = {
      family: "bad",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "512",
      memory: "1024",
      containerDefinitions: [{ name: "app", image: "busybox" }],
    };
    const cases: [string, Partial<RegisterTaskDefinitionCommandInput>, RegExp][] = [
      ["cpu/memory pair outside the Fargate table", { cpu: "512", memory: "512" }, /No Fargate configuration exists for given values: 512 CPU, 512 memory/],
      ["16 vCPU with too little memory", { cpu: "16384", memory: "16384" }, /No Fargate configuration/],
      ["bridge network mode", { networkMode: "bridge" }, /Fargate only supports network mode 'awsvpc'/],
      ["no network mode", { networkMode: undefined }, /awsvpc/],
      ["missing cpu", { cpu: undefined }, /requires that 'cpu'/],
      ["empty container list", { containerDefinitions: [] }, /Container list cannot be empty/],
      ["duplicate container names", { containerDefinitions: [{ name: "a", image: "x" }, { name: "a", image: "y" }] }, /Duplicate container name 'a'/],
      ["unnamed container", { containerDefinitions: [{ image: "x" }] }, /Container.name should not be null or empty/],
      ["no image", { containerDefinitions: [{ name: "a" }] }, /Container.image should not be null or empty/],
      ["no essential container", { containerDefinitions: [{ name: "a", image: "x", essential: false }] }, /at least one essential container/],
      ["stopTimeout above 120", { containerDefinitions: [{ name: "a", image: "x", stopTimeout: 121 }] }, /'stopTimeout' must be between 2 and 120/],
    ];
    for (const [label, patch, message] of cases) {
      await assert.rejects(ecs.send(new RegisterTaskDefinitionCommand({ ...base, ...patch })), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, "ClientException", label);
        assert.match(e.message, message, label);
        assert.equal(e.$metadata?.httpStatusCode, 400);
        return true;
      });
    }
    // Every valid Fargate pair at the table's edges is accepted.
    for (const [cpu, memory] of [["256", "2048"], ["4096", "30720"], ["8192", "61440"], ["16384", "122880"]] as const) {
      const ok = await ecs.send(new RegisterTaskDefinitionCommand({ ...base, cpu, memory }));
      assert.equal(ok.taskDefinition!.memory, memory);
    }
    const list = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "bad" }));
    assert.equal(list.taskDefinitionArns!.length, 4, "rejected registrations leave no revision behind");
  });

  it("lists with familyPrefix, status, sort and pagination", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    for (let i = 0; i < 5; i += 1) await registerTd(ecs, "tempo", `grafana/tempo:2.6.${i}`);
    for (let i = 0; i < 2; i += 1) await registerTd(ecs, "alloy", `grafana/alloy:1.4.${i}`);
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "tempo:2" }));

    const collect = async (input: { familyPrefix?: string; sort?: "ASC" | "DESC"; status?: "ACTIVE" | "INACTIVE" }): Promise<string[]> => {
      const out: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const page = await ecs.send(new ListTaskDefinitionsCommand({ ...input, maxResults: 2, nextToken }));
        assert.ok(page.taskDefinitionArns!.length <= 2);
        out.push(...page.taskDefinitionArns!);
        nextToken = page.nextToken;
        pages += 1;
      } while (nextToken);
      assert.equal(pages, Math.max(1, Math.ceil(out.length / 2)));
      return out.map((a) => a.split("/")[1]!);
    };
    assert.deepEqual(await collect({}), ["alloy:1", "alloy:2", "tempo:1", "tempo:3", "tempo:4", "tempo:5"]);
    assert.deepEqual(await collect({ familyPrefix: "tempo", sort: "DESC" }), ["tempo:5", "tempo:4", "tempo:3", "tempo:1"]);
    assert.deepEqual(await collect({ status: "INACTIVE" }), ["tempo:2"]);
    await assert.rejects(ecs.send(new ListTaskDefinitionsCommand({ nextToken: "garbage!" })), { name: "InvalidParameterException" });
  });
});

describe("services and rollouts", () => {
  it("creates a service whose deployment reaches COMPLETED with a steady-state event", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "mimir", GOOD, {
      healthCheck: { command: ["CMD-SHELL", "wget -qO- localhost:8080/ready"], interval: 5, retries: 3 },
    });
    const created = await createService(ecs, { name: "mimir", taskDefinition: td, desiredCount: 3 });
    assert.equal(created.serviceArn, "arn:aws:ecs:us-east-1:000000000000:service/lgtm/mimir");
    assert.equal(created.status, "ACTIVE");
    assert.equal(created.deployments!.length, 1);
    assert.equal(created.deployments![0]!.status, "PRIMARY");
    assert.equal(created.deployments![0]!.rolloutState, "IN_PROGRESS");
    assert.match(created.deployments![0]!.id!, /^ecs-svc\/\d{19}$/);
    // ECS echoes the defaults, alarms included (recorded in awscli/examples/ecs/update-service.rst).
    assert.deepEqual(created.deploymentConfiguration, {
      deploymentCircuitBreaker: { enable: false, rollback: false },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      alarms: { alarmNames: [], enable: false, rollback: false },
    });

    const steady = await waitSteady(ecs, "mimir");
    assert.equal(steady.runningCount, 3);
    assert.equal(steady.pendingCount, 0);
    assert.equal(steady.deployments![0]!.runningCount, 3);
    assert.equal(steady.deployments![0]!.failedTasks, 0);
    const messages = steady.events!.map((e) => e.message!);
    assert.match(messages[0]!, /^\(service mimir\) has reached a steady state\.$/);
    assert.ok(messages.some((m) => /^\(service mimir\) has started 3 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$/.test(m)), messages.join("\n"));
    assert.ok(messages.some((m) => m.includes(`(deployment ${created.deployments![0]!.id}) deployment completed.`)));
    assert.ok(steady.events![0]!.createdAt! >= steady.events![steady.events!.length - 1]!.createdAt!, "events are newest first");

    const list = await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "mimir" }));
    assert.equal(list.taskArns!.length, 3);
    const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: "lgtm", tasks: [...list.taskArns!, "deadbeef"] })));
    assert.deepEqual(tasks.failures, [{ arn: "arn:aws:ecs:us-east-1:000000000000:task/lgtm/deadbeef", reason: "MISSING" }]);
    for (const task of tasks.tasks!) {
      assert.match(task.taskArn!, /^arn:aws:ecs:us-east-1:000000000000:task\/lgtm\/[0-9a-f]{32}$/);
      assert.equal(task.lastStatus, "RUNNING");
      assert.equal(task.desiredStatus, "RUNNING");
      assert.equal(task.healthStatus, "HEALTHY");
      assert.equal(task.group, "service:mimir");
      assert.equal(task.startedBy, created.deployments![0]!.id);
      assert.equal(task.taskDefinitionArn, td);
      assert.equal(task.containers![0]!.image, GOOD);
      assert.match(task.containers![0]!.imageDigest!, /^sha256:[0-9a-f]{64}$/);
      assert.equal(task.containers![0]!.healthStatus, "HEALTHY");
      assert.ok(task.createdAt! <= task.startedAt!);
    }
    const services = await ecs.send(new ListServicesCommand({ cluster: "lgtm" }));
    assert.deepEqual(services.serviceArns, [created.serviceArn]);
    const cluster = await ecs.send(new DescribeClustersCommand({ clusters: ["lgtm"] }));
    assert.equal(cluster.clusters![0]!.runningTasksCount, 3);
    assert.equal(cluster.clusters![0]!.activeServicesCount, 1);
  });

  it("forceNewDeployment with 66/100 on 3 tasks replaces one task at a time, never above maximumPercent", async (t) => {
    const emu = await emulator(t, { timing: { provisioningMs: 30, pendingMs: 30 } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "loki", GOOD);
    await createService(ecs, {
      name: "loki",
      taskDefinition: td,
      desiredCount: 3,
      deploymentConfiguration: { minimumHealthyPercent: 66, maximumPercent: 100 },
    });
    const before = await waitSteady(ecs, "loki");
    const oldId = before.deployments![0]!.id!;
    const started = Date.now();
    const updated = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", forceNewDeployment: true }));
    const deps = updated.service!.deployments!;
    assert.equal(deps.length, 2);
    assert.equal(deps[0]!.status, "PRIMARY");
    assert.notEqual(deps[0]!.id, oldId);
    assert.equal(deps[0]!.rolloutState, "IN_PROGRESS");
    assert.equal(deps[1]!.id, oldId);
    assert.equal(deps[1]!.status, "ACTIVE");

    const samples: Service[] = [];
    const final = await waitFor(
      async () => {
        const s = await describeService(ecs, "loki");
        samples.push(s);
        return s;
      },
      (s) => s.deployments!.length === 1 && s.deployments![0]!.id !== oldId && s.deployments![0]!.rolloutState === "COMPLETED",
    );
    assert.ok(samples.length >= 1);
    for (const s of samples) {
      assert.ok(s.runningCount! + s.pendingCount! <= 3, `more than maximumPercent tasks: ${s.runningCount}+${s.pendingCount}`);
      assert.ok(s.runningCount! <= 3);
    }
    assert.equal(final.taskDefinition, td);

    const tasks = await allTasks(ecs, "loki");
    const old = tasks.filter((x) => x.startedBy === oldId);
    const fresh = tasks.filter((x) => x.startedBy === final.deployments![0]!.id);
    assert.equal(old.length, 3);
    assert.equal(fresh.length, 3);
    for (const o of old) {
      assert.equal(o.lastStatus, "STOPPED");
      assert.equal(o.stopCode, "ServiceSchedulerInitiated");
      assert.match(o.stoppedReason!, /Scaling activity initiated by \(deployment ecs-svc\/\d+\)/);
    }
    // From the tasks' own timestamps: never more than 3 running, never fewer than ceil(0.66*3)=2.
    const window = maxConcurrentRunning(tasks, started, Date.now());
    assert.ok(window.max <= 3, `max concurrently running ${window.max}`);
    assert.ok(window.min >= 2, `min concurrently running ${window.min}`);
    // One at a time: each new task was created only after an old one had begun stopping.
    const stopTimes = old.map((o) => o.stoppingAt!.getTime()).sort((a, b) => a - b);
    const createTimes = fresh.map((f) => f.createdAt!.getTime()).sort((a, b) => a - b);
    createTimes.forEach((c, i) => assert.ok(c >= stopTimes[i]!, `new task ${i} created before old task ${i} stopped`));
    assert.ok(final.events!.some((e) => /has stopped 1 running tasks: \(task [0-9a-f]{32}\)\./.test(e.message!)));
  });

  it("0/100 stops every old task before starting new ones; 100/200 starts new ones first", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "grafana", GOOD);
    await createService(ecs, { name: "zero", taskDefinition: td, desiredCount: 3, deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 100 } });
    await createService(ecs, { name: "surge", taskDefinition: td, desiredCount: 3, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } });
    const zeroOld = (await waitSteady(ecs, "zero")).deployments![0]!.id!;
    const surgeOld = (await waitSteady(ecs, "surge")).deployments![0]!.id!;
    const td2 = await registerTd(ecs, "grafana", GOOD2);
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "zero", taskDefinition: td2 }));
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "surge", taskDefinition: td2 }));
    let surgeMax = 0;
    await waitFor(
      async () => {
        const [z, s] = await Promise.all([describeService(ecs, "zero"), describeService(ecs, "surge")]);
        surgeMax = Math.max(surgeMax, s.runningCount!);
        assert.ok(s.runningCount! <= 6);
        return [z, s];
      },
      (both) => both.every((s) => s.deployments!.length === 1 && s.deployments![0]!.rolloutState === "COMPLETED" && s.taskDefinition === td2),
    );
    const zero = await allTasks(ecs, "zero");
    const lastOldStop = Math.max(...zero.filter((x) => x.startedBy === zeroOld).map((x) => x.stoppingAt!.getTime()));
    for (const n of zero.filter((x) => x.startedBy !== zeroOld)) assert.ok(n.createdAt!.getTime() >= lastOldStop);

    const surge = await allTasks(ecs, "surge");
    const firstOldStop = Math.min(...surge.filter((x) => x.startedBy === surgeOld).map((x) => x.stoppingAt!.getTime()));
    const fresh = surge.filter((x) => x.startedBy !== surgeOld);
    for (const n of fresh) assert.ok(n.startedAt!.getTime() <= firstOldStop, "all new tasks ran before the first old one stopped");
    const w = maxConcurrentRunning(surge);
    assert.equal(w.max, 6, "100/200 ran 6 tasks at the peak");
    assert.ok(surgeMax <= 6);
  });

  it("UpdateService desiredCount scales without a new deployment; StopTask is replaced", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "pyroscope", GOOD);
    await createService(ecs, { name: "pyro", taskDefinition: td, desiredCount: 1 });
    const before = await waitSteady(ecs, "pyro");
    const up = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "pyro", desiredCount: 2 }));
    assert.equal(up.service!.deployments!.length, 1);
    assert.equal(up.service!.deployments![0]!.id, before.deployments![0]!.id);
    const scaled = await waitFor(() => describeService(ecs, "pyro"), (s) => s.runningCount === 2 && s.desiredCount === 2);
    assert.equal(scaled.deployments![0]!.desiredCount, 2);

    const [victim] = (await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "pyro" }))).taskArns!;
    const stopped = await ecs.send(new StopTaskCommand({ cluster: "lgtm", task: victim!, reason: "testing" }));
    assert.equal(stopped.task!.desiredStatus, "STOPPED");
    const gone = await waitFor(
      () => ecs.send(new DescribeTasksCommand({ cluster: "lgtm", tasks: [victim!] })),
      (d) => d.tasks![0]!.lastStatus === "STOPPED",
    );
    assert.equal(gone.tasks![0]!.stopCode, "UserInitiated");
    assert.equal(gone.tasks![0]!.stoppedReason, "testing");
    const healed = await waitFor(() => allTasks(ecs, "pyro"), (ts) => ts.filter((x) => x.lastStatus === "RUNNING").length === 2 && ts.length === 3);
    assert.ok(healed.some((x) => x.taskArn === victim && x.desiredStatus === "STOPPED"), "stopped task still describable");
    const stoppedList = await ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "pyro", desiredStatus: "STOPPED" }));
    assert.deepEqual(stoppedList.taskArns, [victim]);
  });

  it("reports missing services, unknown clusters, inactive services and the 10-name limit", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "alloy", GOOD);
    await createService(ecs, { name: "alloy", taskDefinition: td, desiredCount: 0 });
    const d = await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["alloy", "ghost"] }));
    assert.equal(d.services!.length, 1);
    assert.deepEqual(d.failures, [{ arn: "arn:aws:ecs:us-east-1:000000000000:service/lgtm/ghost", reason: "MISSING" }]);
    const byArn = await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: [d.services![0]!.serviceArn!] }));
    assert.equal(byArn.services![0]!.serviceName, "alloy");
    await assert.rejects(ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: Array.from({ length: 11 }, (_, i) => `s${i}`) })), {
      name: "InvalidParameterException",
    });
    await assert.rejects(ecs.send(new DescribeServicesCommand({ cluster: "nope", services: ["alloy"] })), {
      name: "ClusterNotFoundException",
      message: "Cluster not found.",
    });
    await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "ghost", desiredCount: 1 })), { name: "ServiceNotFoundException" });
    await assert.rejects(ecs.send(new ListTasksCommand({ cluster: "lgtm", serviceName: "ghost" })), { name: "ServiceNotFoundException" });
    await assert.rejects(createService(ecs, { name: "alloy", taskDefinition: td, desiredCount: 1 }), {
      name: "InvalidParameterException",
      message: "Creation of service was not idempotent.",
    });
    const { DeleteServiceCommand } = await import("@aws-sdk/client-ecs");
    await ecs.send(new DeleteServiceCommand({ cluster: "lgtm", service: "alloy" }));
    await assert.rejects(ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "alloy", desiredCount: 1 })), { name: "ServiceNotActiveException" });
  });
});

describe("service-deployment history", () => {
  it("records superseded, successful deployments newest first, with filters, pagination and revisions", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td1 = await registerTd(ecs, "tempo", GOOD);
    const td2 = await registerTd(ecs, "tempo", GOOD2);
    const td3 = await registerTd(ecs, "tempo", "grafana/tempo:2.6.1");
    const svc = await createService(ecs, { name: "tempo", taskDefinition: td1, desiredCount: 2 });
    // Superseded while IN_PROGRESS.
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", taskDefinition: td2 }));
    // A clear gap on both sides of "mid": timestamps are compared to the millisecond.
    await sleep(5);
    const mid = Date.now() / 1000;
    await sleep(5);
    await waitSteady(ecs, "tempo");
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", taskDefinition: td3 }));
    const running = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: svc.serviceArn!, status: ["IN_PROGRESS"] }));
    assert.equal(running.serviceDeployments!.length, 1);
    const done = await waitSteady(ecs, "tempo");
    assert.equal(done.taskDefinition, td3);

    const all: string[] = [];
    let nextToken: string | undefined;
    const statuses: string[] = [];
    do {
      const page = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "tempo", maxResults: 1, nextToken }));
      assert.equal(page.serviceDeployments!.length, 1);
      all.push(page.serviceDeployments![0]!.serviceDeploymentArn!);
      statuses.push(page.serviceDeployments![0]!.status!);
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(statuses, ["SUCCESSFUL", "SUCCESSFUL", "STOPPED"]);
    assert.ok(all.every((a) => /^arn:aws:ecs:us-east-1:000000000000:service-deployment\/lgtm\/tempo\/\w+$/.test(a)));
    const after = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "tempo", createdAt: { after: new Date(mid * 1000) } }));
    assert.deepEqual(after.serviceDeployments!.map((d) => d.serviceDeploymentArn), [all[0]]);

    const desc = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [...all, "arn:aws:ecs:us-east-1:000000000000:service-deployment/lgtm/tempo/nope"] }));
    assert.deepEqual(desc.failures!.map((f) => f.reason), ["MISSING"]);
    const [third, second, first] = desc.serviceDeployments!;
    assert.match(first!.statusReason!, /newer service deployment/);
    assert.ok(first!.finishedAt instanceof Date);
    assert.equal(third!.targetServiceRevision!.runningTaskCount, 2);
    assert.equal(third!.targetServiceRevision!.requestedTaskCount, 2);
    assert.deepEqual(third!.sourceServiceRevisions!.map((r) => r.arn), [second!.targetServiceRevision!.arn]);
    assert.deepEqual(third!.deploymentCircuitBreaker, { status: "DISABLED", failureCount: 0, threshold: 3 });
    assert.equal(third!.rollback, undefined);
    const revs = await ecs.send(
      new DescribeServiceRevisionsCommand({ serviceRevisionArns: [first, second, third].map((d) => d!.targetServiceRevision!.arn!) }),
    );
    assert.deepEqual(revs.serviceRevisions!.map((r) => r.taskDefinition), [td1, td2, td3]);
    assert.equal(revs.serviceRevisions![2]!.containerImages![0]!.containerName, "tempo");
    await assert.rejects(ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "ghost" })), { name: "ServiceNotFoundException" });
  });

  it("tags resources", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "loki", GOOD);
    const svc = await createService(ecs, { name: "loki", taskDefinition: td, desiredCount: 0 });
    const { TagResourceCommand, UntagResourceCommand, ListTagsForResourceCommand } = await import("@aws-sdk/client-ecs");
    await ecs.send(new TagResourceCommand({ resourceArn: svc.serviceArn!, tags: [{ key: "release", value: "2.14.0" }, { key: "x", value: "1" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn: svc.serviceArn!, tagKeys: ["x"] }));
    const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: svc.serviceArn! }));
    assert.deepEqual(tags.tags, [{ key: "release", value: "2.14.0" }]);
    const withTags = await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["loki"], include: ["TAGS"] }));
    assert.deepEqual(withTags.services![0]!.tags, [{ key: "release", value: "2.14.0" }]);
    await ecs.send(new TagResourceCommand({ resourceArn: td, tags: [{ key: "git", value: "abc1234" }] }));
    const d = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "loki", include: ["TAGS"] }));
    assert.deepEqual(d.tags, [{ key: "git", value: "abc1234" }]);
  });
});

describe("failures, circuit breaker and rollback", () => {
  it("crash-looping image: stopped tasks carry the exit code, failedTasks grows, breaker FAILS and rolls back", async (t) => {
    const crash = "grafana/mimir:9.9.9-broken";
    // stopMs 300: the FAILED deployment stays listed (ACTIVE, draining) long enough to be sampled even on a busy machine.
    const emu = await emulator(t, { timing: { stopMs: 300 }, images: { [crash]: { behavior: "crash", exitCode: 137, afterMs: 5 } } });
    const ecs = ecsClient(emu);
    const td1 = await registerTd(ecs, "mimir", GOOD);
    await createService(ecs, {
      name: "mimir",
      taskDefinition: td1,
      desiredCount: 2,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    const good = await waitSteady(ecs, "mimir");
    const goodId = good.deployments![0]!.id!;
    const td2 = await registerTd(ecs, "mimir", crash);
    const upd = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "mimir", taskDefinition: td2 }));
    const badId = upd.service!.deployments![0]!.id!;

    const seenFailed: number[] = [];
    let failedDeployment: Deployment | undefined;
    const final = await waitFor(
      async () => {
        const s = await describeService(ecs, "mimir");
        const bad = s.deployments!.find((d) => d.id === badId);
        if (bad) seenFailed.push(bad.failedTasks!);
        if (bad?.rolloutState === "FAILED") failedDeployment = bad;
        return s;
      },
      (s) => s.deployments!.length === 1 && s.deployments![0]!.id !== badId && s.deployments![0]!.rolloutState === "COMPLETED",
    );
    // failedTasks only grows, and reached the threshold clamp(ceil(0.5*2),3,200) = 3.
    for (let i = 1; i < seenFailed.length; i += 1) assert.ok(seenFailed[i]! >= seenFailed[i - 1]!);
    assert.ok(failedDeployment, "observed the FAILED deployment while it drained");
    assert.ok(failedDeployment.failedTasks! >= 3);
    assert.equal(failedDeployment.status, "ACTIVE");
    assert.equal(failedDeployment.rolloutStateReason, "ECS deployment circuit breaker: tasks failed to start.");
    // Rolled back to the task definition of the last COMPLETED deployment.
    assert.equal(final.taskDefinition, td1);
    assert.equal(final.deployments![0]!.taskDefinition, td1);
    const messages = final.events!.map((e) => e.message!);
    assert.ok(messages.includes(`(service mimir) (deployment ${badId}) deployment failed: tasks failed to start.`), messages.join("\n"));
    assert.ok(messages.includes(`(service mimir) rolling back to deployment ${goodId}.`), messages.join("\n"));
    assert.match(messages[0]!, /has reached a steady state/);

    const crashed = (await allTasks(ecs, "mimir")).filter((x) => x.taskDefinitionArn === td2);
    assert.ok(crashed.length >= 3);
    const exited = crashed.filter((x) => x.stopCode === "EssentialContainerExited");
    assert.ok(exited.length >= 3);
    for (const x of exited) {
      assert.equal(x.lastStatus, "STOPPED");
      assert.equal(x.stoppedReason, "Essential container in task exited");
      assert.equal(x.containers![0]!.exitCode, 137);
      assert.equal(x.containers![0]!.lastStatus, "STOPPED");
      assert.ok(x.startedAt! <= x.stoppedAt!);
    }

    // Service-deployment history mirrors it.
    const list = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "mimir" }));
    assert.equal(list.serviceDeployments!.length, 2);
    const [latest, firstDeploy] = list.serviceDeployments!;
    assert.equal(latest!.status, "ROLLBACK_SUCCESSFUL");
    assert.equal(firstDeploy!.status, "SUCCESSFUL");
    const rb = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "mimir", status: ["ROLLBACK_SUCCESSFUL"] }));
    assert.deepEqual(rb.serviceDeployments!.map((x) => x.serviceDeploymentArn), [latest!.serviceDeploymentArn]);
    const desc = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [latest!.serviceDeploymentArn!, firstDeploy!.serviceDeploymentArn!] }));
    const [sdBad, sdGood] = desc.serviceDeployments!;
    assert.deepEqual(sdBad!.deploymentCircuitBreaker, { status: "TRIGGERED", failureCount: 3, threshold: 3 });
    assert.equal(sdBad!.rollback!.serviceRevisionArn, sdGood!.targetServiceRevision!.arn);
    assert.ok(sdBad!.rollback!.startedAt instanceof Date);
    assert.ok(sdBad!.finishedAt! >= sdBad!.rollback!.startedAt!);
    assert.deepEqual(sdBad!.sourceServiceRevisions!.map((r) => r.arn), [sdGood!.targetServiceRevision!.arn]);
    const revs = await ecs.send(
      new DescribeServiceRevisionsCommand({ serviceRevisionArns: [sdBad!.targetServiceRevision!.arn!, sdGood!.targetServiceRevision!.arn!] }),
    );
    assert.deepEqual(revs.serviceRevisions!.map((r) => r.taskDefinition), [td2, td1]);
    assert.equal(revs.serviceRevisions![0]!.containerImages![0]!.image, crash);
    assert.equal(revs.serviceRevisions![1]!.serviceArn, final.serviceArn);
  });

  it("without a COMPLETED deployment to return to, the breaker FAILS and the rollback fails", async (t) => {
    const emu = await emulator(t, { images: { "9.9.9": { behavior: "crash", exitCode: 1, afterMs: 0 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:9.9.9");
    const svc = await createService(ecs, {
      name: "tempo",
      taskDefinition: td,
      desiredCount: 1,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    const failed = await waitFor(() => describeService(ecs, "tempo"), (s) => s.deployments![0]!.rolloutState === "FAILED");
    assert.equal(failed.deployments![0]!.id, svc.deployments![0]!.id);
    assert.equal(failed.deployments![0]!.failedTasks, 3);
    const hist = await ecs.send(new ListServiceDeploymentsCommand({ cluster: "lgtm", service: "tempo" }));
    assert.equal(hist.serviceDeployments![0]!.status, "ROLLBACK_FAILED");
    await sleep(80);
    const later = await describeService(ecs, "tempo");
    assert.equal(later.deployments![0]!.failedTasks, 3, "a halted deployment launches no more tasks");
    assert.equal(later.runningCount, 0);
  });

  it("failing health check stops the task with 'Task failed container health checks'", async (t) => {
    const emu = await emulator(t, { images: { "grafana/loki:sick": { behavior: "unhealthy" } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "loki", "grafana/loki:sick", { healthCheck: { command: ["CMD-SHELL", "exit 1"] } });
    await createService(ecs, { name: "loki", taskDefinition: td, desiredCount: 1 });
    const tasks = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.filter((x) => x.lastStatus === "STOPPED").length >= 2);
    const sick = tasks.filter((x) => x.lastStatus === "STOPPED");
    for (const x of sick) {
      assert.equal(x.stoppedReason, "Task failed container health checks");
      assert.equal(x.stopCode, "ServiceSchedulerInitiated");
      assert.equal(x.healthStatus, "UNHEALTHY");
      assert.equal(x.containers![0]!.healthStatus, "UNHEALTHY");
    }
    const s = await describeService(ecs, "loki");
    assert.ok(s.deployments![0]!.failedTasks! >= 2);
    assert.equal(s.deployments![0]!.rolloutState, "IN_PROGRESS", "no breaker configured: ECS keeps retrying");
    assert.ok(s.events!.some((e) => /\(service loki\) \(task [0-9a-f]{32}\) failed container health checks\./.test(e.message!)));
  });

  it("slow start keeps tasks PENDING for the configured extra time", async (t) => {
    // 1.5 s of extra PENDING: wide enough that a loaded machine's look (once a fixed 60 ms sleep) lands inside it.
    const emu = await emulator(t, { images: { "grafana/alloy:slow": { behavior: "slow", startDelayMs: 1_500 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "alloy", "grafana/alloy:slow");
    await createService(ecs, { name: "alloy", taskDefinition: td, desiredCount: 1 });
    const mid = await waitFor(() => describeService(ecs, "alloy"), (s) => (s.pendingCount ?? 0) > 0 || (s.runningCount ?? 0) > 0);
    assert.equal(mid.pendingCount, 1);
    assert.equal(mid.runningCount, 0);
    await waitSteady(ecs, "alloy");
    const [task] = await allTasks(ecs, "alloy");
    assert.ok(task!.startedAt!.getTime() - task!.createdAt!.getTime() >= 1_500 + 20 - 2);
  });
});
