// CloudWatch Logs for awslogs streams, over HTTP with the real SDK v3 client: the lines image behaviours print, the
// API's paging and errors. docs/emulator.md, "CloudWatch Logs".
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
import { UpdateServiceCommand, type ContainerDefinition } from "@aws-sdk/client-ecs";
import type { Emulator } from "../src/emulator/index.js";
import { allTasks, createService, ecsClient, emulator, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

const logsClient = (emu: Emulator): CloudWatchLogsClient =>
  new CloudWatchLogsClient({ endpoint: emu.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 });

const awslogs = (component: string): Partial<ContainerDefinition> => ({
  logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": `/ecs/lgtm/${component}`, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs" } },
});

describe("CloudWatch Logs", () => {
  it("a crashing image prints its panic line to <prefix>/<container>/<task id>; ECS reports no reason for the exit", async (t) => {
    const emu = await emulator(t, {
      images: {
        "grafana/loki:bad": {
          behavior: "crash",
          afterMs: 30,
          exitLog: ["panic: invalid memberlist configuration", "goroutine 1 [running]:"],
          logs: [{ afterMs: 0, message: 'level=info msg="Loki started"' }, { afterMs: 10, message: 'level=warn msg="memberlist join failed"' }],
        },
      },
    });
    const ecs = ecsClient(emu);
    const logs = logsClient(emu);
    const td = await registerTd(ecs, "loki", "grafana/loki:bad", awslogs("loki"));
    await createService(ecs, { name: "loki", taskDefinition: td, desiredCount: 1 });
    const tasks = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.filter((x) => x.lastStatus === "STOPPED").length >= 2);
    // Enough crashes seen: end the crash loop.
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", desiredCount: 0 }));
    const crashed = tasks.filter((x) => x.lastStatus === "STOPPED");
    for (const x of crashed) {
      assert.equal(x.containers![0]!.exitCode, 1);
      assert.equal(x.containers![0]!.reason, undefined, "an ordinary non-zero exit has no reason");
      assert.equal(x.stoppedReason, "Essential container in task exited");
    }
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/lgtm/loki", logStreamNamePrefix: "ecs/loki/" }));
    const names = streams.logStreams!.map((s) => s.logStreamName!);
    for (const x of crashed) assert.ok(names.includes(`ecs/loki/${x.taskArn!.split("/").pop()}`), names.join(", "));
    const first = crashed[0]!;
    const stream = `ecs/loki/${first.taskArn!.split("/").pop()}`;
    const events = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/lgtm/loki", logStreamName: stream, startFromHead: true }));
    assert.deepEqual(events.events!.map((e) => e.message), ['level=info msg="Loki started"', 'level=warn msg="memberlist join failed"', "panic: invalid memberlist configuration", "goroutine 1 [running]:"]);
    assert.equal(events.events![0]!.timestamp, first.startedAt!.getTime());
    assert.equal(events.events![2]!.timestamp, first.stoppingAt!.getTime(), "the panic line is stamped when the container exited");
    const info = streams.logStreams!.find((s) => s.logStreamName === stream)!;
    assert.equal(info.firstEventTimestamp, first.startedAt!.getTime());
    assert.match(info.arn!, /^arn:aws:logs:us-east-1:000000000000:log-group:\/ecs\/lgtm\/loki:log-stream:ecs\/loki\/[0-9a-f]{32}$/);
    // FilterLogEvents across every task's stream.
    const panics = await logs.send(new FilterLogEventsCommand({ logGroupName: "/ecs/lgtm/loki", filterPattern: '"panic: invalid"' }));
    assert.ok(panics.events!.length >= 2);
    assert.ok(panics.events!.every((e) => e.message === "panic: invalid memberlist configuration" && e.logStreamName!.startsWith("ecs/loki/")));
    const quiet = await logs.send(new FilterLogEventsCommand({ logGroupName: "/ecs/lgtm/loki", filterPattern: "memberlist -panic" }));
    assert.ok(quiet.events!.every((e) => e.message!.includes("memberlist join failed")));
  });

  it("GetLogEvents pages backward by default and forward from the head; the end token comes back unchanged", async (t) => {
    const emu = await emulator(t, { images: { "grafana/tempo:chatty": { behavior: "healthy", logs: Array.from({ length: 5 }, (_, i) => ({ afterMs: i, message: `line ${i}` })) } } });
    const ecs = ecsClient(emu);
    const logs = logsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:chatty", awslogs("tempo"));
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 1 });
    await waitSteady(ecs, "tempo");
    const [task] = await allTasks(ecs, "tempo");
    const q = { logGroupIdentifier: "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/lgtm/tempo", logStreamName: `ecs/tempo/${task!.taskArn!.split("/").pop()}` };
    const tail = await logs.send(new GetLogEventsCommand({ ...q, limit: 2 }));
    assert.deepEqual(tail.events!.map((e) => e.message), ["line 3", "line 4"], "newest events without startFromHead");
    const older = await logs.send(new GetLogEventsCommand({ ...q, limit: 2, nextToken: tail.nextBackwardToken }));
    assert.deepEqual(older.events!.map((e) => e.message), ["line 1", "line 2"]);
    const head = await logs.send(new GetLogEventsCommand({ ...q, limit: 3, startFromHead: true }));
    assert.deepEqual(head.events!.map((e) => e.message), ["line 0", "line 1", "line 2"]);
    const rest = await logs.send(new GetLogEventsCommand({ ...q, limit: 3, nextToken: head.nextForwardToken }));
    assert.deepEqual(rest.events!.map((e) => e.message), ["line 3", "line 4"]);
    const end = await logs.send(new GetLogEventsCommand({ ...q, limit: 3, nextToken: rest.nextForwardToken }));
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, rest.nextForwardToken);
    const window = await logs.send(new GetLogEventsCommand({ ...q, startFromHead: true, startTime: task!.startedAt!.getTime() + 1, endTime: task!.startedAt!.getTime() + 3 }));
    assert.deepEqual(window.events!.map((e) => e.message), ["line 1", "line 2"], "startTime inclusive, endTime exclusive");
  });

  it("errors as the model says; a task that never ran has no stream; the log action writes lines", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const logs = logsClient(emu);
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/nope" })), { name: "ResourceNotFoundException", message: "The specified log group does not exist." });
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/lgtm/grafana" }));
    await assert.rejects(logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/lgtm/grafana" })), { name: "ResourceAlreadyExistsException" });
    await assert.rejects(logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/lgtm/grafana", logStreamName: "ecs/grafana/x" })), {
      name: "ResourceNotFoundException",
      message: "The specified log stream does not exist.",
    });
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/lgtm/grafana", logGroupIdentifier: "/ecs/lgtm/grafana" })), { name: "InvalidParameterException" });
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/lgtm/grafana", orderBy: "LastEventTime", logStreamNamePrefix: "ecs" })), { name: "InvalidParameterException" });
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/lgtm" }));
    assert.deepEqual(groups.logGroups!.map((g) => g.logGroupName), ["/ecs/lgtm/grafana"]);

    // An image that cannot be pulled never starts a container: no stream.
    const td = await registerTd(ecs, "grafana", "000000000000.dkr.ecr.us-east-1.amazonaws.com/lgtm-grafana:missing", awslogs("grafana"));
    await createService(ecs, { name: "grafana", taskDefinition: td, desiredCount: 1 });
    await waitFor(() => allTasks(ecs, "grafana"), (ts) => ts.some((x) => x.stopCode === "TaskFailedToStart"));
    assert.deepEqual((await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/lgtm/grafana" }))).logStreams, []);

    // The log action: scripted lines for a running task.
    const ok = await registerTd(ecs, "grafana", "grafana/grafana:11.3.0", awslogs("grafana"));
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "grafana", taskDefinition: ok }));
    await waitSteady(ecs, "grafana");
    const running = (await allTasks(ecs, "grafana")).find((x) => x.lastStatus === "RUNNING")!;
    const res = await fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify({ type: "log", task: running.taskArn, message: ["logger=sqlstore msg=\"Connecting to DB\"", "logger=server msg=\"HTTP Server Listen\""] }) });
    assert.equal(res.status, 200);
    const ev = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/lgtm/grafana", logStreamName: `ecs/grafana/${running.taskArn!.split("/").pop()}` }));
    assert.deepEqual(ev.events!.map((e) => e.message), ['logger=sqlstore msg="Connecting to DB"', 'logger=server msg="HTTP Server Listen"']);
    const noLogs = await registerTd(ecs, "alloy", "grafana/alloy:1.4.0");
    await createService(ecs, { name: "alloy", taskDefinition: noLogs, desiredCount: 1 });
    await waitSteady(ecs, "alloy");
    const [alloy] = await allTasks(ecs, "alloy");
    const refused = await fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify({ type: "log", task: alloy!.taskArn, message: "x" }) });
    assert.equal(refused.status, 409);
  });
});
