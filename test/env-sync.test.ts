import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import fc from "fast-check";
import { COMPONENT_NAMES } from "../src/core/catalogue.js";
import { parseEnvironment } from "../src/core/environment.js";
import { spliceOutputs, withoutOutputs } from "../src/core/env-sync.js";
import { stackOutputs } from "../src/core/stack-outputs.js";
import { BUNDLE, REPO_ROOT, runBundle, runCli } from "./helpers/cli.js";
import { copyProject } from "./helpers/project.js";

// `aws cloudformation describe-stacks --stack-name lgtm-prod --output json`, in the AWS CLI's documented shape, with
// the outputs the stack in infra/ declares (infra/test/stack.test.ts checks the template declares exactly these).
const FIXTURE = path.join(REPO_ROOT, "test/fixtures/infra/describe-stacks.prod.json");
const fixture = () => JSON.parse(readFileSync(FIXTURE, "utf8"));
const prodText = readFileSync(path.join(REPO_ROOT, "environments/prod.json"), "utf8");
const inputsOnly = withoutOutputs(prodText);

function project() {
  const p = copyProject();
  p.write("environments/prod.json", inputsOnly);
  return p;
}
const sync = (p: { root: string }, file: string, ...extra: string[]) => runCli(["env", "sync", "--root", p.root, "--env", "prod", "--stack-outputs", file, ...extra]);

describe("env sync on a realistic describe-stacks output", () => {
  const p = project();
  after(() => p.cleanup());

  test("the fixture holds exactly the contract's outputs for prod's routed components", () => {
    const keys = fixture().Stacks[0].Outputs.map((o: { OutputKey: string }) => o.OutputKey).sort();
    assert.deepEqual(keys, stackOutputs(["grafana", "mimir", "loki"]).map((o) => o.key).sort());
  });

  test("before the sync, rendering fails with one line saying what to run", async () => {
    const r = await runCli(["render", "mimir", "--root", p.root, "--env", "prod", "--sha", "0123456"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /environments\/prod\.json: no "outputs" section.*lgtm-deploy env sync --env prod --stack-outputs/);
  });

  test("writes the outputs section, leaves every input byte as it was, and says what changed", async () => {
    const r = await sync(p, FIXTURE);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /environments\/prod\.json: outputs from stack lgtm-prod \(UPDATE_COMPLETE, 2026-10-07T08:03:19\.902000\+00:00\): 27 field\(s\) changed/);
    assert.match(r.stdout, /outputs\.roles\.taskRoleArns\.loki: null -> "arn:aws:iam::123456789012:role\/lgtm-ecs-task-loki"/);
    const text = readFileSync(p.path("environments/prod.json"), "utf8");
    assert.equal(withoutOutputs(text), inputsOnly, "inputs unchanged");
    const env = parseEnvironment("prod", "prod.json", text);
    assert.equal(env.outputs!.loadBalancers.loki!.targetGroupArn, "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/LgtmPr-Targe-7RF3KCW2EXAMP/1a2b3c4d5e6f7081");
    assert.deepEqual(env.outputs!.network.securityGroups, ["sg-0a1b2c3d4e5f60718"]);
    assert.deepEqual(env.outputs!.deploymentAlarms.mimir, ["lgtm-prod-mimir-target-5xx", "lgtm-prod-mimir-healthy-hosts-low"]);
    assert.deepEqual(env.outputs!.source, { stackName: "lgtm-prod", stackId: fixture().Stacks[0].StackId, lastUpdated: "2026-10-07T08:03:19.902000+00:00" });
    assert.equal(text, prodText, "the committed prod.json is exactly what env sync writes from the fixture");
  });

  test("a second sync changes nothing", async () => {
    const before = readFileSync(p.path("environments/prod.json"), "utf8");
    const r = await sync(p, FIXTURE);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /outputs already match stack lgtm-prod/);
    assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), before);
  });

  test("the synced environment renders six task and six service definitions the AWS CLI accepts (bundle)", async (t) => {
    const out = mkdtempSync(path.join(tmpdir(), "lgtm-synced-"));
    const tds = await runBundle(["render", "--all", "--root", p.root, "--env", "prod", "--sha", "0123456", "--out", path.join(out, "td")]);
    assert.equal(tds.code, 0, tds.stderr);
    const svcs = await runBundle(["render", "--all", "--root", p.root, "--env", "prod", "--sha", "0123456", "--service", "--out", path.join(out, "svc")]);
    assert.equal(svcs.code, 0, svcs.stderr);
    const loki = JSON.parse(readFileSync(path.join(out, "svc", "loki.create-service.json"), "utf8"));
    assert.deepEqual(loki.loadBalancers, [{ targetGroupArn: fixture().Stacks[0].Outputs.find((o: { OutputKey: string }) => o.OutputKey === "TargetGroupLoki").OutputValue, containerName: "loki", containerPort: 3100 }]);
    assert.deepEqual(loki.networkConfiguration.awsvpcConfiguration.securityGroups, ["sg-0a1b2c3d4e5f60718"]);
    assert.equal(loki.serviceRegistries[0].registryArn, "arn:aws:servicediscovery:ap-northeast-2:123456789012:service/srv-pi3ooexample0002");
    const mimirTd = JSON.parse(readFileSync(path.join(out, "td", "mimir.taskdef.json"), "utf8"));
    assert.equal(mimirTd.taskRoleArn, "arn:aws:iam::123456789012:role/lgtm-ecs-task-mimir");
    assert.equal(mimirTd.executionRoleArn, "arn:aws:iam::123456789012:role/lgtm-ecs-execution");
    assert.deepEqual(readdirSync(path.join(out, "td")).length + readdirSync(path.join(out, "svc")).length, 12);
    const aws = "/usr/bin/aws";
    if (!existsSync(aws)) {
      t.skip("Debian awscli (/usr/bin/aws) is not installed; .ci/run installs it");
      return;
    }
    const env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1", AWS_PAGER: "", AWS_DEFAULT_REGION: "ap-northeast-2" };
    // Debian's awscli 2.9.19 predates the circuit breaker's thresholdConfiguration and resetOnHealthyTask (ECS API,
    // 2025): its model would reject them as unknown. The SDK's types check them (test/release-plan.test.ts).
    for (const c of COMPONENT_NAMES) {
      const file = path.join(out, "svc", `${c}.create-service.json`);
      const input = JSON.parse(readFileSync(file, "utf8"));
      delete input.deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration;
      delete input.deploymentConfiguration.deploymentCircuitBreaker.resetOnHealthyTask;
      writeFileSync(file, JSON.stringify(input));
    }
    // Reaching the connection stage means the CLI's client-side parameter validation accepted the input.
    const checks = [
      ...COMPONENT_NAMES.map((c) => [["ecs", "register-task-definition"], path.join(out, "td", `${c}.taskdef.json`)] as const),
      ...COMPONENT_NAMES.map((c) => [["ecs", "create-service"], path.join(out, "svc", `${c}.create-service.json`)] as const),
    ];
    const results = await Promise.all(
      checks.map(([op, file]) => execa(aws, [...op, "--cli-input-json", `file://${file}`, "--endpoint-url", "http://127.0.0.1:9", "--region", "ap-northeast-2"], { reject: false, env, extendEnv: false, timeout: 60_000 })),
    );
    results.forEach((res, i) => assert.match(res.stderr, /Could not connect to the endpoint URL/, `${checks[i]![1]}: ${res.stderr}`));
  });
});

describe("env sync refuses what it cannot trust: a clear line, the documented exit code, the file untouched", () => {
  const p = project();
  after(() => p.cleanup());
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-stacks-"));
  const variant = (name: string, edit: (doc: any) => void) => {
    const doc = fixture();
    edit(doc);
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  };
  const output = (doc: any, key: string) => doc.Stacks[0].Outputs.find((o: { OutputKey: string }) => o.OutputKey === key);
  const cases: Array<[string, () => string, number, RegExp]> = [
    ["another stack only", () => variant("other", (d) => (d.Stacks[0].StackName = "lgtm-staging")), 2, /no stack "lgtm-prod" \(found: lgtm-staging\); run: aws cloudformation describe-stacks --stack-name lgtm-prod/],
    ["another account", () => variant("acct", (d) => (d.Stacks[0].StackId = d.Stacks[0].StackId.replace("123456789012", "210987654321"))), 2, /stack "lgtm-prod" is in account 210987654321 region ap-northeast-2, but \S*environments\/prod\.json says account 123456789012/],
    ["an update in progress", () => variant("busy", (d) => (d.Stacks[0].StackStatus = "UPDATE_IN_PROGRESS")), 5, /stack "lgtm-prod" is UPDATE_IN_PROGRESS: its outputs are not final/],
    ["a failed creation", () => variant("failed", (d) => Object.assign(d.Stacks[0], { StackStatus: "ROLLBACK_COMPLETE", StackStatusReason: "The following resource(s) failed to create: [LoadBalancer]" })), 5, /ROLLBACK_COMPLETE \(The following resource\(s\) failed to create: \[LoadBalancer\]\)/],
    ["an output missing (older stack)", () => variant("old", (d) => (d.Stacks[0].Outputs = d.Stacks[0].Outputs.filter((o: { OutputKey: string }) => o.OutputKey !== "TargetGroupLoki"))), 5, /has no output\(s\) TargetGroupLoki: the deployed stack is older than infra\/ .*deploy it again/],
    ["a value that is not an ARN", () => variant("bad", (d) => (output(d, "TaskRoleLoki").OutputValue = "lgtm-ecs-task-loki")), 2, /the outputs of stack "lgtm-prod" do not validate; \S*environments\/prod\.json was not changed:[\s\S]*field "outputs\.roles\.taskRoleArns\.loki": must be an IAM role ARN/],
    ["an ARN of another region", () => variant("region", (d) => (output(d, "TargetGroupMimir").OutputValue = output(d, "TargetGroupMimir").OutputValue.replace("ap-northeast-2", "us-east-1"))), 2, /field "outputs\.loadBalancers\.mimir\.targetGroupArn": region us-east-1 differs from "region" ap-northeast-2/],
    ["not describe-stacks output (cdk --outputs-file)", () => variant("cdk", (d) => Object.assign(d, { Stacks: undefined, "lgtm-prod": { ClusterArn: "x" } })), 2, /not the output of "aws cloudformation describe-stacks --output json"/],
    ["invalid JSON", () => { const f = path.join(dir, "broken.json"); writeFileSync(f, "{ \"Stacks\": ["); return f; }, 2, /broken\.json: invalid JSON/],
    ["a missing file", () => path.join(dir, "nope.json"), 2, /--stack-outputs .*nope\.json: cannot read: ENOENT/],
  ];
  for (const [name, file, code, message] of cases) {
    test(name, async () => {
      const before = readFileSync(p.path("environments/prod.json"), "utf8");
      const r = await sync(p, file());
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
      assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), before, "file unchanged");
    });
  }

  test("an environment file that is not JSON: exit 2, nothing written", async () => {
    const original = readFileSync(p.path("environments/prod.json"), "utf8");
    try {
      p.write("environments/prod.json", '{ "account": "123456789012", "outputs": {');
      const r = await sync(p, FIXTURE);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /environments\/prod\.json: invalid JSON/);
      assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), '{ "account": "123456789012", "outputs": {');
    } finally {
      p.write("environments/prod.json", original);
    }
  });

  test("invalid inputs are reported as for any command, and nothing is written", async () => {
    const original = p.readJson("environments/prod.json");
    try {
      p.edit("environments/prod.json", (e) => (e.stack.vpcId = "vpc-nope"));
      const before = readFileSync(p.path("environments/prod.json"), "utf8");
      const r = await sync(p, FIXTURE);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /environments\/prod\.json: invalid environment:\n\s+field "stack\.vpcId": must be a VPC id/);
      assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), before);
    } finally {
      p.writeJson("environments/prod.json", original);
    }
  });
});

describe("env sync: warnings, dry run, stale outputs, stdin, JSON", () => {
  const p = project();
  after(() => p.cleanup());

  test("--dry-run lists the changes and writes nothing", async () => {
    const r = await sync(p, FIXTURE, "--dry-run");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /27 field\(s\) would change \(dry run, nothing written\)/);
    assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), inputsOnly);
  });

  test("a rolled-back update syncs with a warning; unknown outputs are named", async () => {
    const doc = fixture();
    doc.Stacks[0].StackStatus = "UPDATE_ROLLBACK_COMPLETE";
    doc.Stacks[0].Outputs.push({ OutputKey: "SomethingNew", OutputValue: "x" });
    const file = path.join(mkdtempSync(path.join(tmpdir(), "lgtm-stacks-")), "rb.json");
    writeFileSync(file, JSON.stringify(doc));
    const r = await sync(p, file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: stack "lgtm-prod" is UPDATE_ROLLBACK_COMPLETE: the last update was rolled back/);
    assert.match(r.stderr, /warning: stack "lgtm-prod" has output\(s\) lgtm-deploy does not use: SomethingNew/);
  });

  test("stale or broken outputs never block the sync that replaces them", async () => {
    p.edit("environments/prod.json", (e) => {
      e.outputs.loadBalancers.tempo = { targetGroupArn: "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/old/0123" };
      e.outputs.roles.executionRoleArn = "garbage";
    });
    assert.equal((await runCli(["render", "mimir", "--root", p.root, "--env", "prod", "--sha", "0123456"])).code, 2);
    const r = await sync(p, FIXTURE);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /outputs\.loadBalancers\.tempo\.targetGroupArn: "arn:.*" -> null/);
    assert.equal(readFileSync(p.path("environments/prod.json"), "utf8").replace(/\s+/g, ""), prodText.replace(/\s+/g, ""));
  });

  test("the bundle reads describe-stacks from stdin (--stack-outputs -) and prints JSON", async () => {
    p.write("environments/prod.json", inputsOnly);
    const r = await execa(process.execPath, [BUNDLE, "env", "sync", "--root", p.root, "--env", "prod", "--stack-outputs", "-", "--json"], { input: readFileSync(FIXTURE, "utf8"), reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.written, true);
    assert.equal(out.stack.name, "lgtm-prod");
    assert.equal(out.changed.length, 27);
    assert.equal(readFileSync(p.path("environments/prod.json"), "utf8"), prodText);
  });
});

describe("the outputs section is spliced into the text, inputs untouched", () => {
  const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== "outputs" && k !== "__proto__");
  const doc = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
  test("property: splice then parse equals the object with outputs replaced; withoutOutputs removes it", () => {
    fc.assert(
      fc.property(doc, fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(0, 2, 4), fc.nat(6), (inputs, old, outputs, indent, at) => {
        const entries = Object.entries(inputs);
        if (old !== undefined) entries.splice(Math.min(at, entries.length), 0, ["outputs", old]);
        const text = JSON.stringify(Object.fromEntries(entries), null, indent);
        const spliced = spliceOutputs(text, outputs);
        const plain = (v: unknown) => JSON.parse(JSON.stringify(v)); // what JSON can hold: no -0, ordinary prototypes
        assert.deepEqual(JSON.parse(spliced), plain({ ...Object.fromEntries(entries), outputs }));
        assert.deepEqual(JSON.parse(withoutOutputs(spliced)), plain(inputs));
        assert.deepEqual(JSON.parse(withoutOutputs(text)), plain(inputs));
      }),
      { numRuns: 300 },
    );
  });
  test("strings that look like keys or braces do not confuse it", () => {
    const text = '{\n  "a": "\\"outputs\\": {}",\n  "b": ["}", {"outputs": 1}],\n  "outputs": {"x": "{"}\n}\n';
    assert.deepEqual(JSON.parse(spliceOutputs(text, { y: 2 })), { a: '"outputs": {}', b: ["}", { outputs: 1 }], outputs: { y: 2 } });
    assert.equal(spliceOutputs(text, { y: 2 }).slice(0, 50), text.slice(0, 50));
  });
});

describe("environment files: the inputs/outputs split", () => {
  const raw = () => JSON.parse(prodText);
  const parse = (value: unknown) => () => parseEnvironment("prod", "environments/prod.json", JSON.stringify(value));

  test("a file in the old layout is told where each moved field went", () => {
    const old = raw();
    old.roles = { executionRoleArn: "arn:aws:iam::123456789012:role/x", taskRoleArn: "arn:aws:iam::123456789012:role/y" };
    old.cloudMap.services = {};
    old.loadBalancers.loki.targetGroupArn = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lgtm-loki/0123";
    assert.throws(parse(old), (e: Error) => {
      assert.match(e.message, /field "roles": moved to outputs\.roles \(executionRoleArn, taskRoleArns\.<component>\): the stack creates it; lgtm-deploy env sync writes it/);
      assert.match(e.message, /field "cloudMap\.services": moved to outputs\.cloudMap\.services/);
      assert.match(e.message, /field "loadBalancers\.loki\.targetGroupArn": moved to outputs\.loadBalancers\.<component>\.targetGroupArn/);
      return true;
    });
  });
  test("outputs must match the inputs: account, routed components, at most five security groups", () => {
    const e1 = raw();
    e1.outputs.roles.taskRoleArns.loki = "arn:aws:iam::999999999999:role/lgtm-ecs-task-loki";
    assert.throws(parse(e1), /field "outputs\.roles\.taskRoleArns\.loki": account 999999999999 differs from "account" 123456789012/);
    const e2 = raw();
    e2.loadBalancers.tempo = { healthCheckGracePeriodSeconds: 60 };
    assert.throws(parse(e2), /field "outputs\.loadBalancers\.tempo": missing, but loadBalancers\.tempo routes tempo/);
    const e3 = raw();
    delete e3.loadBalancers.loki;
    assert.throws(parse(e3), /field "outputs\.loadBalancers\.loki": loki is not routed/);
    const e4 = raw();
    e4.network.securityGroups = ["sg-0a1b2c3d4e5f60718"];
    assert.throws(parse(e4), /field "network\.securityGroups": repeats a group the stack already attaches/);
    const e5 = raw();
    e5.outputs.network.securityGroups.push("sg-0a1b2c3d4e5f60719");
    e5.network.securityGroups = ["sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003", "sg-00000000000000004"];
    assert.throws(parse(e5), /6 security groups, a task accepts at most 5/);
  });
  test("extra security groups (inputs) are attached after the stack's", async () => {
    const p = copyProject();
    try {
      p.edit("environments/prod.json", (e) => (e.network.securityGroups = ["sg-0fedcba9876543210"]));
      const r = await runCli(["render", "loki", "--service", "--root", p.root, "--env", "prod", "--sha", "0123456"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).networkConfiguration.awsvpcConfiguration.securityGroups, ["sg-0a1b2c3d4e5f60718", "sg-0fedcba9876543210"]);
    } finally {
      p.cleanup();
    }
  });
  test("stack inputs are validated: VPC id, CIDRs, retention days", () => {
    const e = raw();
    e.stack.loadBalancerIngress.cidrs = ["10.0.0.0"];
    e.stack.logRetentionDays = 31;
    assert.throws(parse(e), (err: Error) => /field "stack\.loadBalancerIngress\.cidrs\[0\]": must be an IPv4 CIDR/.test(err.message) && /field "stack\.logRetentionDays": must be a CloudWatch Logs retention period/.test(err.message));
  });
});
