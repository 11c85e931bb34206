/**
 * Plan, then apply — the release part (deploy and rollback): every bad flag, rollback target and record path is
 * refused with one short line naming it, the documented exit code, and no mutating call (the emulator's call log).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DeploymentCircuitBreaker } from "@aws-sdk/client-ecs";
import { BatchDeleteImageCommand } from "@aws-sdk/client-ecr";
import { DeregisterTaskDefinitionCommand, RegisterTaskDefinitionCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { Project } from "../src/adapters/files.js";
import { renderService } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { startRig, type Rig } from "./helpers/emulator.js";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const C = "0123456789";

let rig: Rig;
const scratch = mkdtempSync(path.join(tmpdir(), "lgtm-plan-"));

/** The CLI against the rig's emulator, without the rig's release defaults (so the defaults themselves are checked). */
const cli = (args: string[], root = REPO_ROOT) => runCli(["--root", root, "--endpoint-url", rig.emu.url, ...args]);
const record = (name = "r.json") => ["--record", path.join(scratch, name)];

before(async () => {
  rig = await startRig(["tempo", "loki"], [A, B, C]);
  for (const [c, sha] of [["tempo", A], ["tempo", B], ["loki", A]] as const) {
    const r = await rig.cli(["deploy", c, "--env", "local", "--sha", sha, ...(sha === A ? ["--create-missing"] : [])]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
  // lgtm-tempo:3: registered (as a build nobody released) and then deregistered by a clean-up job.
  const td = (await rig.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "lgtm-tempo:1" }))).taskDefinition!;
  const { taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt, registeredBy, deregisteredAt, ...input } = td as any;
  await rig.clients.ecs.send(new RegisterTaskDefinitionCommand(input));
  await rig.clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "lgtm-tempo:3" }));
});

after(async () => {
  await rig.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Case {
  name: string;
  args: string[];
  code: 2 | 5;
  says: RegExp;
}

const deploy = (...extra: string[]) => ["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "100ms", "--poll-interval", "50ms", ...record(), ...extra];
const rollback = (to: string, ...extra: string[]) => ["rollback", "tempo", "--env", "local", "--to", to, "--bake", "100ms", "--poll-interval", "50ms", ...record(), ...extra];
const ARN = (account: string, region: string, family: string, rev: number) => `arn:aws:ecs:${region}:${account}:task-definition/${family}:${rev}`;

const CASES: Case[] = [
  { name: "--timeout 0s", args: deploy("--timeout", "0s"), code: 2, says: /--timeout must be longer than 0s/ },
  { name: "--timeout of a day and more", args: deploy("--timeout", "25h"), code: 2, says: /--timeout must be at most 24h, got 25h/ },
  { name: "--bake as long as --timeout", args: [...deploy("--timeout", "20m"), "--bake", "20m"], code: 2, says: /--bake \(20m\) must be shorter than --timeout \(20m\), or the release can never succeed/ },
  { name: "--bake longer than --rollback-timeout", args: [...deploy("--rollback-timeout", "1m"), "--bake", "5m"], code: 2, says: /--bake \(5m\) must be shorter than --rollback-timeout \(1m\)/ },
  { name: "the default bake longer than a short --timeout", args: ["deploy", "tempo", "--env", "local", "--sha", C, "--timeout", "30s", "--poll-interval", "50ms", ...record()], code: 2, says: /the default bake of tempo \(70s\) must be shorter than --timeout \(30s\)/ },
  { name: "--poll-interval 0s", args: deploy("--poll-interval", "0s"), code: 2, says: /--poll-interval must be at least 10ms, got 0ms/ },
  { name: "--poll-interval below 200ms against AWS", args: ["--endpoint-url", "https://ecs.us-east-1.amazonaws.com", ...deploy("--poll-interval", "100ms")], code: 2, says: /--poll-interval must be at least 200ms \(the ECS API is rate-limited\), got 100ms/ },
  { name: "--poll-interval of minutes", args: deploy("--poll-interval", "2m"), code: 2, says: /--poll-interval must be at most 60s, got 2m/ },
  { name: "--poll-interval longer than --timeout", args: [...deploy("--timeout", "5s"), "--poll-interval", "10s"], code: 2, says: /--poll-interval \(10s\) must be shorter than --timeout \(5s\)/ },
  { name: "--max-failed-tasks 0 (not silently 1)", args: deploy("--max-failed-tasks", "0"), code: 2, says: /--max-failed-tasks must be at least 1/ },
  { name: "--max-failed-tasks beyond the breaker's limit", args: deploy("--max-failed-tasks", "500"), code: 2, says: /--max-failed-tasks must be at most 200/ },
  { name: "--abort-grace of an hour", args: deploy("--abort-grace", "1h"), code: 2, says: /--abort-grace must be at most 10m, got 1h/ },
  { name: "--rollback-timeout 0s", args: deploy("--rollback-timeout", "0s"), code: 2, says: /--rollback-timeout must be longer than 0s/ },
  { name: "--record in a directory that does not exist", args: ["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "100ms", "--record", "/nonexistent-lgtm/dir/r.json"], code: 2, says: /--record \/nonexistent-lgtm\/dir\/r\.json: directory \/nonexistent-lgtm\/dir does not exist/ },
  { name: "--record naming a directory", args: ["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "100ms", "--record", "/tmp"], code: 2, says: /--record \/tmp: \/tmp is a directory/ },
  { name: "--events-file in a directory that does not exist", args: deploy("--events-file", "/nonexistent-lgtm/dir/events.jsonl"), code: 2, says: /--events-file \/nonexistent-lgtm\/dir\/events\.jsonl: directory \/nonexistent-lgtm\/dir does not exist/ },
  { name: "--events-file that is also the record path", args: ["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "100ms", "--record", path.join(scratch, "same.json"), "--events-file", path.join(scratch, "same.json")], code: 2, says: /--events-file .*same\.json: it is also a record path/ },
  // Loki: Tempo's own desired count of 0 is refused earlier by the rolling-safe check (exit 2: it runs exactly 1 task).
  { name: "desired count 0 from the environment (nothing could be verified)", args: ["deploy", "loki", "--env", "local", "--sha", C, "--bake", "100ms", ...record()], code: 5, says: /lgtm-loki would run 0 tasks \(desired count 0 from .*local\.json\): nothing could be verified; nothing was changed \(--allow-zero-desired to release anyway\)/ },
  { name: "rollback --to a revision that does not exist", args: rollback("99"), code: 2, says: /--to 99: task definition lgtm-tempo:99 does not exist/ },
  { name: "rollback --to a deregistered revision", args: rollback("3"), code: 5, says: /--to 3: lgtm-tempo:3 is deregistered \(INACTIVE\): ECS cannot start it/ },
  { name: "rollback --to an ARN of another family", args: rollback(ARN("000000000000", "us-east-1", "lgtm-loki", 1)), code: 2, says: /belongs to family lgtm-loki, not lgtm-tempo/ },
  { name: "rollback --to an ARN of another account (never rewritten)", args: rollback(ARN("111111111111", "us-east-1", "lgtm-tempo", 1)), code: 2, says: /belongs to account 111111111111 in us-east-1, but environment local is account 000000000000 in us-east-1 \(ARNs are never rewritten\)/ },
  { name: "rollback --to an ARN of another region (never rewritten)", args: rollback(ARN("000000000000", "eu-west-1", "lgtm-tempo", 1)), code: 2, says: /belongs to account 000000000000 in eu-west-1, but environment local is .* in us-east-1/ },
  { name: "rollback --to something that is not an ARN", args: rollback("arn:aws:ecs:us-east-1:000000000000:service/lgtm/lgtm-tempo"), code: 2, says: /--to arn:aws:ecs:.*: not a task definition ARN/ },
  { name: "rollback --to a word", args: rollback("yesterday"), code: 2, says: /--to "yesterday": expected previous, a revision number, a task definition ARN, a version \(1\.4\.2\) or an image tag/ },
  { name: "rollback --to an empty string", args: rollback(""), code: 2, says: /--to is empty/ },
  { name: "rollback --to the running revision", args: rollback("2"), code: 5, says: /lgtm-tempo already runs lgtm-tempo:2 \(revision 2\); nothing to roll back/ },
  { name: "rollback --to a version no revision carries", args: rollback("9.9.9"), code: 5, says: /no active revision of lgtm-tempo among the newest 100 carries version 9\.9\.9/ },
  { name: "rollback --reason longer than 1000 characters", args: rollback("1", "--reason", "x".repeat(1001)), code: 2, says: /--reason is longer than 1000 characters/ },
];

describe("bad input and unmet preconditions of a release: one line, the documented exit code, no change", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const root = c.name.startsWith("desired count 0") ? await zeroDesiredRoot() : REPO_ROOT;
      rig.emu.clearCalls();
      const r = await cli(c.args, root);
      assert.equal(r.code, c.code, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.says);
      assert.ok(r.stderr.length < 2_000, `short stderr (${r.stderr.length} chars)`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.deepEqual(rig.emu.calls().filter((x) => x.mutating).map((x) => x.operation), [], "no mutating call");
    });
  }
});

describe("a plan stopped by an AWS error still leaves this run's record (seed 5150 #30)", () => {
  for (const command of ["deploy", "rollback"] as const) {
    test(`${command}: the plan's DescribeServices refused (ClientException) → exit 2, a not-started record replaces the older one`, async () => {
      const file = path.join(scratch, `aws-error-${command}.json`);
      writeFileSync(file, JSON.stringify({ runId: "an-older-run", verdict: "succeeded" }));
      rig.emu.mergeScenario({ faults: [{ operation: "DescribeServices", fault: "error", errorType: "ClientException", message: "TaskDefinition is inactive" }] });
      rig.emu.clearCalls();
      try {
        const args = command === "deploy" ? ["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "100ms"] : ["rollback", "tempo", "--env", "local", "--to", "1", "--bake", "100ms"];
        const r = await cli([...args, "--poll-interval", "50ms", "--record", file]);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /ClientException: TaskDefinition is inactive/);
        assert.deepEqual(rig.emu.calls().filter((x) => x.mutating).map((x) => x.operation), [], "no mutating call");
        const rec = JSON.parse(readFileSync(file, "utf8"));
        assert.notEqual(rec.runId, "an-older-run");
        assert.equal(rec.verdict, "not-started");
        assert.equal(rec.exitCode, 2);
        assert.match(rec.failureReasons.join(" "), /TaskDefinition is inactive/);
      } finally {
        rig.emu.mergeScenario({ faults: [] });
      }
    });
  }
});

async function zeroDesiredRoot(): Promise<string> {
  const { copyProject } = await import("./helpers/project.js");
  const p = copyProject();
  p.edit("environments/local.json", (e) => (e.components = { loki: { desiredCount: 0 } }));
  return p.root;
}

describe("rollback targets whose image ECR no longer has (a lifecycle policy expired it)", () => {
  test("rollback --to it: exit 5 naming the image, nothing changed; deploy with it as the way back: exit 5 too", async () => {
    const env = new Project(REPO_ROOT).environment("local");
    // lgtm-loki:1 runs image A; expire it as an ECR lifecycle policy would (BatchDeleteImage).
    const tag = makeTag({ version: new Project(REPO_ROOT).version("loki"), sha: A }).tag;
    await rig.clients.ecr.send(new BatchDeleteImageCommand({ repositoryName: "lgtm-loki", imageIds: [{ imageTag: tag }] }));
    rig.emu.clearCalls();
    const d = await cli(["deploy", "loki", "--env", "local", "--sha", B, "--bake", "100ms", "--poll-interval", "50ms", ...record("loki.json")]);
    assert.equal(d.code, 5, d.stdout + d.stderr);
    assert.match(d.stderr, /the revision to roll back to if this release fails: lgtm-loki:1 uses .*lgtm-loki@sha256:[0-9a-f]{64}, which ECR no longer has \(expired by the lifecycle policy\?\); a failed release could not roll back \(push the image again, or pass --no-rollback\)/);
    assert.deepEqual(rig.emu.calls().filter((x) => x.mutating).map((x) => x.operation), []);
    assert.equal(env.cluster, "lgtm");
  });
});

test("the service definition's circuit breaker is what the SDK (ECS API) defines: COUNT threshold, no reset on a healthy task", () => {
  const env = new Project(REPO_ROOT).environment("local");
  const p = new Project(REPO_ROOT);
  const svc = renderService("tempo", env, { tag: makeTag({ version: p.version("tempo"), sha: A }) }, p.templates("tempo").service);
  // Type-checked against the SDK's model (Debian's awscli 2.9.19 is older than these two fields).
  const expected = { enable: true, rollback: true, thresholdConfiguration: { type: "COUNT", value: 2 }, resetOnHealthyTask: false } satisfies DeploymentCircuitBreaker;
  assert.deepEqual(svc.deploymentConfiguration?.deploymentCircuitBreaker, expected);
});
