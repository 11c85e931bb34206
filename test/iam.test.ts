import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./helpers/cli.js";
import { startRig } from "./helpers/emulator.js";

interface Statement {
  Action: string | string[];
  Resource: string | string[];
}

const policy = JSON.parse(readFileSync(path.join(REPO_ROOT, "iam/jenkins-deploy-policy.json"), "utf8")) as { Statement: Statement[] };
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const allowed = (action: string) => policy.Statement.some((s) => list(s.Action).includes(action));
const globMatches = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`).test(value);

test("the Jenkins IAM policy allows every AWS call the helper makes in a release, a rollback and status", async () => {
  const rig = await startRig(["tempo"], ["aaaaaaa1111", "bbbbbbb2222", "ccccccc3333"]);
  try {
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "aaaaaaa1111", "--create-missing"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222", "--dry-run"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222"])).code, 0);
    // A failed release: StopServiceDeployment (or UpdateService) to roll back, the outcome tagged on the revision.
    // (A build that never starts: the release times out and lgtm-deploy itself stops the deployment.)
    rig.emu.mergeScenario({ images: { [rig.digest("tempo", "ccccccc3333")]: { behavior: "slow", startDelayMs: 60_000 } } });
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "ccccccc3333", "--timeout", "1s"])).code, 3);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "previous"])).code, 0);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "1.1.0"])).code, 0);
    assert.equal((await rig.cli(["status", "--env", "local", "tempo"])).code, 0);
    assert.equal((await rig.cli(["diff", "tempo", "--env", "local", "--sha", "aaaaaaa1111"])).code, 0);
    const used = [...new Set(rig.emu.calls().map((c) => `${c.service}:${c.operation}`))].sort();
    assert.ok(used.length >= 10, used.join(" "));
    const missing = used.filter((a) => !allowed(a));
    assert.deepEqual(missing, [], `calls the policy does not allow: ${missing.join(", ")}`);
    for (const op of ["ecs:StopServiceDeployment", "ecs:TagResource"]) assert.ok(used.includes(op), `${op} was exercised`);
    // The resource-scoped calls of a release are allowed on the resources they name (any account: the emulator's is 0…0).
    for (const c of rig.emu.calls().filter((x) => x.operation === "TagResource" || x.operation === "StopServiceDeployment")) {
      const input = c.input as { resourceArn?: string; serviceDeploymentArn?: string };
      const arn = (input.resourceArn ?? input.serviceDeploymentArn)!.replace(/:\d{12}:/, ":123456789012:");
      const ok = policy.Statement.some((st) => list(st.Action).includes(`ecs:${c.operation}`) && list(st.Resource).some((r) => globMatches(r, arn)));
      assert.ok(ok, `ecs:${c.operation} on ${arn} is not allowed by any statement`);
    }
  } finally {
    await rig.close();
  }
});

test("the policy grants nothing broad: no wildcard actions, PassRole only to ECS tasks", () => {
  for (const s of policy.Statement) for (const a of list(s.Action)) assert.doesNotMatch(a, /\*/, a);
  const pass = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
  assert.ok(list(pass.Resource).every((r) => /^arn:aws:iam::\d{12}:role\/lgtm-/.test(r)));
});

/** IAM resource matching: `*` any run of characters (":" and "/" included), `?` one character. */
const iamMatch = (pattern: string, arn: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(arn);
const allowedOn = (action: string, arn: string) => policy.Statement.some((s) => list(s.Action).includes(action) && list(s.Resource).some((r) => iamMatch(r, arn)));

test("logs:GetLogEvents is allowed on every component's log streams in prod, and on nothing else", async () => {
  const { Project } = await import("../src/adapters/files.js");
  const { renderTaskDefinition } = await import("../src/core/render.js");
  const { logTargets } = await import("../src/core/logs.js");
  const { makeTag } = await import("../src/core/tag.js");
  const { COMPONENT_NAMES } = await import("../src/core/catalogue.js");
  const project = new Project(REPO_ROOT);
  const prod = project.environment("prod");
  for (const c of COMPONENT_NAMES) {
    const td = renderTaskDefinition(c, prod, { tag: makeTag({ version: "1.0.0", sha: "0123456" }) }, project.templates(c).taskDefinition);
    const { targets } = logTargets({ taskArn: `arn:aws:ecs:${prod.region}:${prod.account}:task/lgtm/0123456789abcdef0123456789abcdef`, containers: [{ name: c, exitCode: 1 }] }, td.containerDefinitions ?? [], prod.region);
    assert.equal(targets.length, 1, c);
    const t = targets[0]!;
    // GetLogEvents is authorized on the log stream (and some tools check the group ARN form): both must pass.
    for (const arn of [`arn:aws:logs:${t.region}:${prod.account}:log-group:${t.group}:log-stream:${t.stream}`, `arn:aws:logs:${t.region}:${prod.account}:log-group:${t.group}:*`]) {
      assert.ok(allowedOn("logs:GetLogEvents", arn), `${c}: ${arn}`);
    }
  }
  for (const other of ["/aws/lambda/payments", "/ecs/lgtm-staging/loki", "/ecs/other/loki"]) {
    assert.ok(!allowedOn("logs:GetLogEvents", `arn:aws:logs:${prod.region}:${prod.account}:log-group:${other}:log-stream:x`), other);
  }
  assert.ok(!allowedOn("logs:GetLogEvents", `arn:aws:logs:${prod.region}:999999999999:log-group:/ecs/lgtm/loki:log-stream:x`), "another account");
  assert.ok(!policy.Statement.some((s) => list(s.Action).some((a) => a.startsWith("logs:") && a !== "logs:GetLogEvents")), "no other Logs permission");
});

test("every CloudWatch Logs call the failure report makes is allowed by the policy", async () => {
  const { startFakeLogs } = await import("./helpers/fake-logs.js");
  const { createAwsClients } = await import("../src/adapters/aws.js");
  const { readFailedTaskLogs } = await import("../src/adapters/logs.js");
  const fake = await startFakeLogs();
  const clients = await createAwsClients({ region: "ap-northeast-2", env: { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: fake.url } });
  try {
    const defs = [{ name: "loki", essential: true, logConfiguration: { logDriver: "awslogs" as const, options: { "awslogs-group": "/ecs/lgtm/loki", "awslogs-region": "ap-northeast-2", "awslogs-stream-prefix": "loki" } } }];
    fake.put("/ecs/lgtm/loki", "loki/loki/t1", ["panic: boom"]);
    const tasks = ["t1", "t2"].map((id) => ({ taskArn: `arn:aws:ecs:ap-northeast-2:123456789012:task/lgtm/${id}`, containers: [{ name: "loki", exitCode: 2 }], failed: true }));
    await readFailedTaskLogs(clients.logs, tasks, defs, { lines: 20, region: "ap-northeast-2" });
    assert.ok(fake.calls().length >= 2);
    for (const c of fake.calls()) {
      const input = c.input as { logGroupName: string; logStreamName: string };
      const arn = `arn:aws:logs:ap-northeast-2:123456789012:log-group:${input.logGroupName}:log-stream:${input.logStreamName}`;
      assert.ok(allowedOn(`logs:${c.operation}`, arn), `logs:${c.operation} on ${arn}`);
    }
  } finally {
    clients.destroy();
    await fake.close();
  }
});
