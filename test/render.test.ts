import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CATALOGUE, COMPONENT_NAMES } from "../src/core/catalogue.js";
import { parseEnvironment } from "../src/core/environment.js";
import { fargatePairError } from "../src/core/fargate.js";
import { renderService, renderTaskDefinition, validateTaskDefinition, warnings } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { Project } from "../src/adapters/files.js";
import { REPO_ROOT, runBundle, runCli } from "./helpers/cli.js";
import { copyProject } from "./helpers/project.js";

const project = new Project(REPO_ROOT);
const prod = project.environment("prod");
const local = project.environment("local");
const image = { tag: makeTag({ version: "1.0.0", sha: "0123456789ab" }) };

describe("rendered task definitions are Fargate-correct for every component", () => {
  for (const component of COMPONENT_NAMES) {
    test(component, () => {
      const c = CATALOGUE[component];
      const td = renderTaskDefinition(component, prod, image, project.templates(component).taskDefinition) as any;
      assert.equal(td.family, `lgtm-${component}`);
      assert.equal(td.networkMode, "awsvpc");
      assert.deepEqual(td.requiresCompatibilities, ["FARGATE"]);
      assert.equal(td.cpu, String(c.cpu));
      assert.equal(td.memory, String(c.memory));
      assert.equal(fargatePairError(td.cpu, td.memory), undefined);
      assert.deepEqual(td.runtimePlatform, { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" });
      assert.equal(td.ephemeralStorage?.sizeInGiB, c.ephemeralStorageGiB);
      assert.equal(td.containerDefinitions.length, 1);
      const [ct] = td.containerDefinitions;
      assert.equal(ct.name, component);
      assert.equal(ct.essential, true);
      assert.equal(ct.image, `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/lgtm-${component}:1.0.0_g0123456789ab`);
      assert.deepEqual(ct.portMappings.map((p: any) => [p.name, p.containerPort]), c.ports.map((p) => [p.name, p.containerPort]));
      assert.equal(ct.stopTimeout, 120);
      assert.equal(ct.linuxParameters.initProcessEnabled, true);
      assert.deepEqual(ct.logConfiguration.logDriver, "awslogs");
      assert.equal(ct.logConfiguration.options["awslogs-group"], `/ecs/lgtm/${component}`);
      assert.equal(ct.logConfiguration.options["awslogs-region"], "ap-northeast-2");
      assert.ok(ct.logConfiguration.options["awslogs-stream-prefix"]);
      assert.equal(ct.environment.find((e: any) => e.name === "AWS_REGION").value, "ap-northeast-2");
      assert.equal(JSON.stringify(td).includes("{{"), false, "no placeholder left");
      // health checks only where the image can run them
      if (component === "grafana") assert.deepEqual(ct.healthCheck.command, ["CMD-SHELL", "curl -fsS http://localhost:3000/api/health || exit 1"]);
      else if (component === "loki") assert.deepEqual(ct.healthCheck.command, ["CMD", "/usr/bin/loki", "-health"]);
      else assert.equal(ct.healthCheck, undefined);
    });
  }
});

test("grafana passwords come from secrets by reference, never plain environment", () => {
  const td = renderTaskDefinition("grafana", prod, image, project.templates("grafana").taskDefinition) as any;
  const [ct] = td.containerDefinitions;
  assert.deepEqual(ct.secrets.map((s: any) => s.name).sort(), ["GF_DATABASE_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"]);
  for (const s of ct.secrets) assert.match(s.valueFrom, /^arn:aws:secretsmanager:/);
  assert.equal(ct.environment.some((e: any) => /PASSWORD/.test(e.name)), false);
  assert.equal(ct.environment.find((e: any) => e.name === "GF_DATABASE_TYPE").value, "postgres");
  const localTd = renderTaskDefinition("grafana", local, image, project.templates("grafana").taskDefinition) as any;
  assert.equal(localTd.containerDefinitions[0].environment.find((e: any) => e.name === "GF_DATABASE_TYPE").value, "sqlite3");
});

test("digest pins the image; memberlist join and S3 prefixes come from the catalogue", () => {
  const digest = `sha256:${"ab".repeat(32)}`;
  const td = renderTaskDefinition("mimir", prod, { ...image, digest }, project.templates("mimir").taskDefinition) as any;
  const [ct] = td.containerDefinitions;
  assert.equal(ct.image, `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/lgtm-mimir@${digest}`);
  const env = Object.fromEntries(ct.environment.map((e: any) => [e.name, e.value]));
  assert.equal(env.MEMBERLIST_JOIN, "dns+mimir.lgtm.local:7946");
  assert.equal(env.S3_BUCKET, "sys-lgtm-s3");
  assert.deepEqual([env.MIMIR_BLOCKS_PREFIX, env.MIMIR_RULER_PREFIX, env.MIMIR_ALERTMANAGER_PREFIX], ["blocks", "rules", "alerts"]);
  assert.equal(env.REPLICATION_FACTOR, "3");
  assert.throws(() => renderTaskDefinition("mimir", prod, { ...image, digest: "sha256:nope" }, project.templates("mimir").taskDefinition), /invalid --digest/);
});

describe("service definitions", () => {
  const expected: Record<string, [number, number]> = { mimir: [66, 100], loki: [50, 100], tempo: [0, 100], pyroscope: [0, 100], grafana: [100, 200], alloy: [100, 200] };
  for (const component of COMPONENT_NAMES) {
    test(component, () => {
      const svc = renderService(component, prod, image, project.templates(component).service) as any;
      assert.equal(svc.serviceName, `lgtm-${component}`);
      assert.equal(svc.cluster, "lgtm");
      assert.equal(svc.launchType, "FARGATE");
      assert.equal(svc.desiredCount, CATALOGUE[component].tasks);
      assert.deepEqual([svc.deploymentConfiguration.minimumHealthyPercent, svc.deploymentConfiguration.maximumPercent], expected[component]);
      // The service's own breaker counts failed tasks like lgtm-deploy (COUNT, no reset on a healthy task): it still
      // protects the service when Jenkins dies mid-release. Alarms: the stack's, for the components it made them for.
      assert.deepEqual(svc.deploymentConfiguration.deploymentCircuitBreaker, { enable: true, rollback: true, thresholdConfiguration: { type: "COUNT", value: 2 }, resetOnHealthyTask: false });
      const alarms = prod.outputs!.deploymentAlarms[component];
      if (alarms === undefined) assert.equal("alarms" in svc.deploymentConfiguration, false);
      else assert.deepEqual(svc.deploymentConfiguration.alarms, { alarmNames: alarms, enable: true, rollback: true });
      assert.deepEqual(svc.networkConfiguration.awsvpcConfiguration.subnets, prod.network.subnets);
      assert.equal(svc.serviceRegistries[0].registryArn, prod.outputs!.cloudMap.services[component]);
      assert.equal(svc.propagateTags, "SERVICE");
      const routed = ["grafana", "mimir", "loki"].includes(component);
      assert.equal(svc.loadBalancers.length, routed ? 1 : 0);
      assert.equal("healthCheckGracePeriodSeconds" in svc, routed);
      if (routed) {
        assert.equal(svc.loadBalancers[0].containerName, component);
        assert.equal(svc.loadBalancers[0].containerPort, CATALOGUE[component].ports[0]!.containerPort);
      }
    });
  }
});

test("environment overrides: desired count, cpu/memory, ephemeral storage, ARM64", () => {
  const text = readFileSync(path.join(REPO_ROOT, "environments/prod.json"), "utf8");
  const raw = JSON.parse(text);
  raw.cpuArchitecture = "ARM64";
  raw.components = { loki: { desiredCount: 3, cpu: 2048, memory: 8192, ephemeralStorageGiB: 100 } };
  const env = parseEnvironment("prod", "environments/prod.json", JSON.stringify(raw));
  const td = renderTaskDefinition("loki", env, image, project.templates("loki").taskDefinition) as any;
  assert.equal(td.cpu, "2048");
  assert.equal(td.memory, "8192");
  assert.equal(td.ephemeralStorage.sizeInGiB, 100);
  assert.equal(td.runtimePlatform.cpuArchitecture, "ARM64");
  assert.equal(td.containerDefinitions[0].environment.find((e: any) => e.name === "REPLICATION_FACTOR").value, "3", "3 Loki tasks default to RF 3");
  assert.equal(renderService("loki", env, image, project.templates("loki").service).desiredCount, 3);
});

test("unsafe Loki replication factor is warned about; the shipped default is safe", () => {
  assert.deepEqual(warnings(prod), []);
  const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, "environments/prod.json"), "utf8"));
  raw.components = { loki: { replicationFactor: 2 } };
  const w = warnings(parseEnvironment("prod", "environments/prod.json", JSON.stringify(raw)));
  assert.equal(w.length, 1);
  assert.match(w[0]!.message, /loki runs 2 task\(s\) with replication factor 2/);
});

describe("validation catches what ECS would reject", () => {
  const base = () => JSON.parse(JSON.stringify(renderTaskDefinition("tempo", prod, image, project.templates("tempo").taskDefinition)));
  const cases: Array<[string, (td: any) => void, RegExp]> = [
    ["invalid Fargate pair", (td) => (td.memory = "1024"), /cpu 1024 with memory 1024 MiB is not a valid Fargate pair/],
    ["stopTimeout > 120", (td) => (td.containerDefinitions[0].stopTimeout = 300), /stopTimeout.*300 exceeds Fargate's maximum of 120/],
    ["not awsvpc", (td) => (td.networkMode = "bridge"), /"networkMode": must be "awsvpc"/],
    ["duplicate container names", (td) => td.containerDefinitions.push({ ...td.containerDefinitions[0], portMappings: [] }), /duplicate container name "tempo"/],
    ["no essential container", (td) => (td.containerDefinitions[0].essential = false), /at least one container must be essential/],
    ["port not in catalogue", (td) => td.containerDefinitions[0].portMappings.push({ name: "x", containerPort: 8080, protocol: "tcp" }), /8080 is not a tempo port in the catalogue/],
    ["catalogue port missing", (td) => td.containerDefinitions[0].portMappings.pop(), /catalogue port 4318 \(otlp-http\) has no portMapping/],
    ["latest image", (td) => (td.containerDefinitions[0].image = "repo/tempo:latest"), /uses "latest" or no tag/],
    ["untagged image", (td) => (td.containerDefinitions[0].image = "123.dkr.ecr.x.amazonaws.com/tempo"), /uses "latest" or no tag/],
    ["secret in plain env", (td) => td.containerDefinitions[0].environment.push({ name: "DB_PASSWORD", value: "hunter2" }), /"DB_PASSWORD" looks like a secret/],
    ["secret by value", (td) => (td.containerDefinitions[0].secrets = [{ name: "X", valueFrom: "hunter2 plain value!" }]), /must reference Secrets Manager or SSM/],
    ["awslogs without stream prefix", (td) => delete td.containerDefinitions[0].logConfiguration.options["awslogs-stream-prefix"], /awslogs-stream-prefix.*required on Fargate/],
  ];
  for (const [name, mutate, message] of cases) {
    test(name, () => {
      const td = base();
      assert.deepEqual(validateTaskDefinition("tempo", td), []);
      mutate(td);
      const problems = validateTaskDefinition("tempo", td);
      assert.ok(problems.some((p) => message.test(p)), `${problems.join("\n")} should match ${message}`);
    });
  }
});

describe("bad input through the CLI: clear message naming file/field/flag, exit 2, nothing written", () => {
  const p = copyProject();
  after(() => p.cleanup());
  const render = (...args: string[]) => runCli(["render", "--root", p.root, "--sha", "0123456", ...args]);

  test("unknown component and unknown environment", async () => {
    let r = await render("mimirr", "--env", "prod");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown component "mimirr" \(known: mimir, loki, tempo, pyroscope, grafana, alloy\)/);
    r = await render("mimir", "--env", "staging");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown environment "staging": .*environments\/staging.json does not exist \(known: local, prod\)/);
    r = await runCli(["render", "mimir", "--root", p.root, "--env", "prod"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give --tag <tag> or --sha <commit>/);
    r = await runCli(["render", "mimir", "--root", p.root, "--env", "prod", "--tag", "latest"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tag "latest" is not allowed/);
    r = await runCli(["render", "mimir", "--root", p.root, "--env", "prod", "--sha", "zzz"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --sha "zzz"/);
  });

  const envCases: Array<[string, (e: any) => void, RegExp]> = [
    ["wrong type", (e) => (e.network.subnets = "subnet-0123456789abcdef0"), /field "network.subnets": .*expected array/i],
    ["missing field", (e) => delete e.cluster, /field "cluster": is required/],
    ["invalid region", (e) => (e.region = "korea-1"), /field "region": must be an AWS region/],
    ["invalid ARN", (e) => (e.outputs.roles.taskRoleArns.loki = "lgtm-task-role"), /field "outputs.roles.taskRoleArns.loki": must be an IAM role ARN/],
    ["unknown field", (e) => (e.clutser = "x"), /unknown field\(s\) "clutser"/],
    ["bad subnet item", (e) => (e.network.subnets = ["subnet-0123456789abcdef0", "subnet-nope"]), /field "network.subnets\[1\]": must be a subnet id/],
    ["registry of another account", (e) => (e.ecr.registry = "999999999999.dkr.ecr.ap-northeast-2.amazonaws.com"), /field "ecr.registry": account 999999999999 differs/],
    ["secret given as a value", (e) => (e.grafana.adminPasswordSecret = "hunter2"), /field "grafana.adminPasswordSecret": must be a Secrets Manager secret ARN or an SSM parameter ARN/],
    ["invalid ephemeral storage", (e) => (e.components = { mimir: { ephemeralStorageGiB: 500 } }), /field "components.mimir.ephemeralStorageGiB"/],
  ];
  for (const [name, mutate, message] of envCases) {
    test(`environment file: ${name}`, async () => {
      const original = p.readJson("environments/prod.json");
      try {
        p.edit("environments/prod.json", mutate);
        const r = await render("mimir", "--env", "prod");
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /environments\/prod\.json: invalid environment/);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, "");
      } finally {
        p.writeJson("environments/prod.json", original);
      }
    });
  }

  test("environment file: invalid JSON", async () => {
    const original = p.readJson("environments/prod.json");
    try {
      p.write("environments/prod.json", "{ nope");
      const r = await render("mimir", "--env", "prod");
      assert.equal(r.code, 2);
      assert.match(r.stderr, /environments\/prod\.json: invalid JSON/);
    } finally {
      p.writeJson("environments/prod.json", original);
    }
  });

  const templateCases: Array<[string, string, (t: any) => void | string, RegExp]> = [
    ["invalid JSON", "taskdefs/loki.json", () => '{"family": ', /taskdefs\/loki\.json: invalid JSON/],
    ["unknown placeholder", "taskdefs/loki.json", (t) => void (t.family = "{{famly}}"), /taskdefs\/loki\.json: unknown placeholder \{\{famly\}\} at family/],
    ["placeholder without a value", "taskdefs/grafana.json", (t) => void t.containerDefinitions[0].environment.push({ name: "X", value: "{{s3Prefix}}" }), /taskdefs\/grafana\.json: placeholder \{\{s3Prefix\}\} at containerDefinitions\[0\]\.environment\[\d+\]\.value has no value/],
    ["unresolved placeholder", "taskdefs/loki.json", (t) => void (t.containerDefinitions[0].environment[0].value = "{{ region"), /taskdefs\/loki\.json: unresolved placeholder in "\{\{ region"/],
    ["cpu/memory not a Fargate pair", "taskdefs/loki.json", (t) => void (t.memory = "1536"), /cpu 1024 with memory 1536 MiB is not a valid Fargate pair/],
    ["stopTimeout > 120", "taskdefs/loki.json", (t) => void (t.containerDefinitions[0].stopTimeout = 121), /stopTimeout.*121 exceeds Fargate's maximum of 120/],
    ["duplicate container names", "taskdefs/loki.json", (t) => void t.containerDefinitions.push({ ...t.containerDefinitions[0], portMappings: [] }), /duplicate container name "loki"/],
    ["port not in the catalogue", "taskdefs/loki.json", (t) => void t.containerDefinitions[0].portMappings.push({ name: "metrics", containerPort: 9100, protocol: "tcp" }), /9100 is not a loki port in the catalogue/],
    ["latest image", "taskdefs/loki.json", (t) => void (t.containerDefinitions[0].image = "grafana/loki:latest"), /uses "latest" or no tag/],
  ];
  for (const [name, file, mutate, message] of templateCases) {
    test(`template: ${name}`, async () => {
      const original = readFileSync(p.path(file), "utf8");
      const out = mkdtempSync(path.join(tmpdir(), "lgtm-out-"));
      try {
        const t = JSON.parse(original);
        const replaced = mutate(t);
        p.write(file, typeof replaced === "string" ? replaced : JSON.stringify(t));
        const component = path.basename(file, ".json");
        const r = await render(component, "--env", "prod", "--out", path.join(out, "td.json"));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(existsSync(path.join(out, "td.json")), false, "nothing written");
        assert.deepEqual(readdirSync(out), []);
      } finally {
        p.write(file, original);
      }
    });
  }
});

test("bundle: render --all --env prod prints six task definitions that the AWS CLI accepts", async (t) => {
  const aws = "/usr/bin/aws";
  const r = await runBundle(["render", "--all", "--env", "prod", "--sha", "0123456"]);
  assert.equal(r.code, 0, r.stderr);
  const tds = JSON.parse(r.stdout) as any[];
  assert.deepEqual(tds.map((td) => td.family), COMPONENT_NAMES.map((c) => `lgtm-${c}`));
  if (!existsSync(aws)) {
    t.skip("Debian awscli (/usr/bin/aws) is not installed; .ci/run installs it");
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-awscli-"));
  const env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1", AWS_PAGER: "", AWS_DEFAULT_REGION: "ap-northeast-2" };
  const validate = async (file: string, op: string[]) =>
    execa(aws, [...op, "--cli-input-json", `file://${file}`, "--endpoint-url", "http://127.0.0.1:9", "--region", "ap-northeast-2"], { reject: false, env, extendEnv: false, timeout: 30_000 });
  // Reaching the connection stage means the CLI's client-side parameter validation accepted the input.
  for (const td of tds) {
    const file = path.join(dir, `${td.family}.json`);
    writeFileSync(file, JSON.stringify(td));
    const res = await validate(file, ["ecs", "register-task-definition"]);
    assert.match(res.stderr, /Could not connect to the endpoint URL/, `${td.family}: ${res.stderr}`);
  }
  // The same check can fail: an unknown key and a wrong type are rejected before any connection.
  const broken = { ...tds[0], bogusKey: 1, cpu: 2048 };
  writeFileSync(path.join(dir, "broken.json"), JSON.stringify(broken));
  const bad = await validate(path.join(dir, "broken.json"), ["ecs", "register-task-definition"]);
  assert.match(bad.stderr, /Parameter validation failed/);
  assert.match(bad.stderr, /bogusKey/);
  // Service inputs too.
  const svc = await runBundle(["render", "--all", "--env", "prod", "--sha", "0123456", "--service", "--out", path.join(dir, "svc")]);
  assert.equal(svc.code, 0, svc.stderr);
  for (const file of readdirSync(path.join(dir, "svc"))) {
    // Debian's awscli 2.9.19 predates the circuit breaker's thresholdConfiguration and resetOnHealthyTask (ECS API,
    // 2025): its model would reject them as unknown. They are checked against the SDK's types in test/release-plan.test.ts.
    const input = JSON.parse(readFileSync(path.join(dir, "svc", file), "utf8"));
    delete input.deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration;
    delete input.deploymentConfiguration.deploymentCircuitBreaker.resetOnHealthyTask;
    writeFileSync(path.join(dir, "svc", file), JSON.stringify(input));
    const res = await validate(path.join(dir, "svc", file), ["ecs", "create-service"]);
    assert.match(res.stderr, /Could not connect to the endpoint URL/, `${file}: ${res.stderr}`);
  }
});

test("a service template that sets healthCheckGracePeriodSeconds without a load balancer is refused (ECS rejects it, 0 included)", () => {
  const t = project.templates("tempo").service;
  const body = { ...(t.body as Record<string, unknown>), healthCheckGracePeriodSeconds: 0 };
  assert.throws(() => renderService("tempo", prod, image, { file: t.file, body }), /taskdefs\/tempo\.service\.json: .*field "healthCheckGracePeriodSeconds": only valid for a service with a load balancer/s);
  // The same template with a load balancer is fine (Grafana is routed in prod).
  const g = project.templates("grafana").service;
  assert.equal((renderService("grafana", prod, image, g) as any).healthCheckGracePeriodSeconds, 60);
});
