import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CreateRepositoryCommand, PutImageCommand } from "@aws-sdk/client-ecr";
import { ListClustersCommand } from "@aws-sdk/client-ecs";
import { Command } from "commander";
import { execa } from "execa";
import { registerEmulator } from "../src/commands/emulator.js";
import type { Io } from "../src/commands/context.js";
import { InvalidInputError } from "../src/core/errors.js";
import { startEmulator } from "../src/emulator/index.js";
import { FAST, createService, ecrClient, ecsClient, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

interface Harness {
  out: string[];
  err: string[];
  abort: AbortController;
  done: Promise<void>;
  code(): number | undefined;
}

/** Runs `lgtm-deploy [globals] emulator ...` in-process, the way src/cli.ts builds the program. */
function runCli(args: string[]): Harness {
  const out: string[] = [];
  const err: string[] = [];
  const abort = new AbortController();
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), env: {}, signal: abort.signal };
  let code: number | undefined;
  const program = new Command("lgtm-deploy")
    .option("--root <dir>", "root", process.cwd())
    .option("--json", "json", false)
    .option("--endpoint-url <url>")
    .option("--region <region>")
    .exitOverride();
  registerEmulator(program, io, (c) => {
    code = c;
  });
  for (const sub of program.commands) sub.exitOverride();
  const done = program.parseAsync(args, { from: "user" }).then(() => undefined);
  return { out, err, abort, done, code: () => code };
}

async function firstLine(h: Harness): Promise<string> {
  return waitFor(async () => h.out[0], (l) => l !== undefined, 5000).then((l) => l!);
}

describe("lgtm-deploy emulator (command)", () => {
  it("prints exactly one 'listening' line, serves the SDK, and stops cleanly on the abort signal", async () => {
    const h = runCli(["emulator", "--port", "0"]);
    try {
      const line = await firstLine(h);
      const m = /^lgtm-deploy emulator listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
      assert.ok(m, line);
      assert.notEqual(m[2], "0");
      const emuUrl = m[1]!;
      const out = await ecsClient({ url: emuUrl } as never).send(new ListClustersCommand({}));
      assert.deepEqual(out.clusterArns, []);
      assert.equal(h.out.length, 1);
    } finally {
      h.abort.abort("SIGINT");
      await h.done;
    }
    assert.equal(h.code(), 0);
    assert.ok(h.err.some((l) => l.includes("stopped (signal)")), h.err.join("\n"));
  });

  it("--json prints a listening event; --max-lifetime ends the command by itself; --region is honoured", async () => {
    const started = Date.now();
    const h = runCli(["--json", "--region", "eu-west-1", "emulator", "--port", "0", "--max-lifetime", "1s"]);
    try {
      const event = JSON.parse(await firstLine(h)) as { event: string; url: string };
      assert.equal(event.event, "listening");
      assert.match(event.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const raw = await fetch(event.url, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.CreateCluster" },
        body: JSON.stringify({ clusterName: "c" }),
      });
      assert.match(((await raw.json()) as { cluster: { clusterArn: string } }).cluster.clusterArn, /^arn:aws:ecs:eu-west-1:000000000000:cluster\/c$/);
      await h.done;
    } finally {
      h.abort.abort();
      await h.done;
    }
    assert.ok(Date.now() - started >= 950, "ran until its max lifetime");
    assert.equal(h.code(), 0);
    assert.deepEqual(JSON.parse(h.out[1]!), { event: "stopped", reason: "max-lifetime" });
  });

  it("rejects bad flags and scenario files as invalid input before listening", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-cli-"));
    const bad = join(dir, "s.json");
    writeFileSync(bad, JSON.stringify({ api: { DescribeServices: { throttleRate: 2 } } }));
    for (const args of [
      ["emulator", "--port", "0", "--scenario", bad],
      ["emulator", "--port", "99999"],
      ["emulator", "--port", "0", "--max-lifetime", "soon"],
    ]) {
      const h = runCli(args);
      // Flag values are checked by commander's argParser (run() maps that to exit 2) or by the action.
      await assert.rejects(h.done, (e: Error) => e instanceof InvalidInputError || (e as { code?: string }).code === "commander.invalidArgument", args.join(" "));
      assert.deepEqual(h.out, []);
    }
    const h = runCli(["emulator", "--port", "0", "--scenario", bad]);
    await assert.rejects(h.done, (e: Error) => e.message.includes(bad) && e.message.includes("api.DescribeServices.throttleRate"));
  });

  it("close() leaves nothing that keeps the process alive", async () => {
    const r = await execa("node", ["--import", "tsx", "test/fixtures/emulator/exit-after-close.ts"], { timeout: 15_000, reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), "closed []");
  });
});

const AWS = "/usr/bin/aws";
describe("real AWS CLI against the emulator", () => {
  it("describe-services, list-task-definitions, describe-images and error codes", { skip: existsSync(AWS) ? false : `${AWS} is not installed (CI installs Debian's awscli)` }, async () => {
    const emu = await startEmulator({ scenario: { timing: FAST } });
    try {
      const ecs = ecsClient(emu);
      const ecr = ecrClient(emu);
      await ecr.send(new CreateRepositoryCommand({ repositoryName: "mimir", imageTagMutability: "IMMUTABLE" }));
      const put = await ecr.send(
        new PutImageCommand({ repositoryName: "mimir", imageTag: "2.14.0", imageManifest: JSON.stringify({ schemaVersion: 2, layers: [{ size: 10 }] }) }),
      );
      const image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/mimir:2.14.0";
      await registerTd(ecs, "mimir", image);
      const td2 = await registerTd(ecs, "mimir", image);
      await createService(ecs, { name: "mimir", taskDefinition: td2, desiredCount: 2 });
      await waitSteady(ecs, "mimir");

      const env = {
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_MAX_ATTEMPTS: "1",
        AWS_PAGER: "",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      };
      const aws = (args: string[]) =>
        execa(AWS, ["--endpoint-url", emu.url, "--output", "json", ...args], { env, extendEnv: false, reject: false, timeout: 30_000 });

      // Four CLI processes in parallel (each costs a Python start-up).
      const [services, tds, images, reg] = await Promise.all([
        aws(["ecs", "describe-services", "--cluster", "lgtm", "--services", "mimir", "ghost"]),
        aws(["ecs", "list-task-definitions", "--family-prefix", "mimir", "--sort", "DESC"]),
        aws(["ecr", "describe-images", "--repository-name", "mimir", "--image-ids", "imageTag=2.14.0"]),
        aws([
          "ecs",
          "register-task-definition",
          "--family",
          "cli",
          "--requires-compatibilities",
          "FARGATE",
          "--network-mode",
          "awsvpc",
          "--cpu",
          "256",
          "--memory",
          "3072",
          "--container-definitions",
          JSON.stringify([{ name: "a", image: "busybox" }]),
        ]),
      ]);
      assert.equal(services.exitCode, 0, services.stderr);
      const ds = JSON.parse(services.stdout) as {
        services: { serviceName: string; runningCount: number; taskDefinition: string; deployments: { rolloutState: string; createdAt: unknown }[] }[];
        failures: { reason: string }[];
      };
      assert.equal(ds.services[0]!.serviceName, "mimir");
      assert.equal(ds.services[0]!.runningCount, 2);
      assert.equal(ds.services[0]!.taskDefinition, td2);
      assert.equal(ds.services[0]!.deployments[0]!.rolloutState, "COMPLETED");
      assert.ok(typeof ds.services[0]!.deployments[0]!.createdAt === "string", "the CLI parsed the epoch timestamp");
      assert.deepEqual(ds.failures.map((f) => f.reason), ["MISSING"]);

      assert.equal(tds.exitCode, 0, tds.stderr);
      // The CLI paginates on its own; 2 revisions, newest first.
      assert.deepEqual((JSON.parse(tds.stdout) as { taskDefinitionArns: string[] }).taskDefinitionArns.map((a) => a.split("/")[1]), ["mimir:2", "mimir:1"]);

      assert.equal(images.exitCode, 0, images.stderr);
      const di = JSON.parse(images.stdout) as { imageDetails: { imageDigest: string; imageTags: string[] }[] };
      assert.equal(di.imageDetails[0]!.imageDigest, put.image!.imageId!.imageDigest);
      assert.deepEqual(di.imageDetails[0]!.imageTags, ["2.14.0"]);

      // botocore maps the error __type too, and the mutating call lands in the call log as such.
      assert.equal(reg.exitCode, 254);
      assert.match(reg.stderr, /ClientException.*No Fargate configuration exists for given values: 256 CPU, 3072 memory/s);
      const cliCalls = emu.calls().filter((c) => c.operation === "RegisterTaskDefinition" && (c.input as { family?: string }).family === "cli");
      assert.equal(cliCalls.length, 1);
      assert.equal(cliCalls[0]!.mutating, true);
      assert.equal(cliCalls[0]!.errorType, "ClientException");
      assert.ok(emu.calls().some((c) => c.operation === "DescribeImages" && c.service === "ecr" && c.status === 200));
    } finally {
      await emu.close();
    }
  });
});

describe("time scale and the fargate timing profile", () => {
  it("--time-scale 50 --timing fargate: minutes of Fargate in about a second, with consistent simulated timestamps", async () => {
    const h = runCli(["--json", "emulator", "--port", "0", "--time-scale", "50", "--timing", "fargate"]);
    try {
      const event = JSON.parse(await firstLine(h)) as { url: string; timeScale: number };
      assert.equal(event.timeScale, 50);
      const ecs = ecsClient({ url: event.url } as never);
      const wallStart = Date.now();
      const td = await registerTd(ecs, "tempo", "grafana/tempo:2.6.0");
      await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 1 });
      const done = await waitSteady(ecs, "tempo", "lgtm", 10_000);
      const wall = Date.now() - wallStart;
      const state = (await (await fetch(`${event.url}/_emulator/state`)).json()) as {
        timeScale: number;
        timeEpochMs: number;
        wallTime: string;
        timing: { provisioningMs: number; healthyWithoutCheckMs: number; deregistrationDelayMs: number };
        ecs: { tasks: { createdAt: number; pullStartedAt: number; startedAt: number }[] };
      };
      assert.equal(state.timeScale, 50);
      assert.deepEqual([state.timing.provisioningMs, state.timing.healthyWithoutCheckMs, state.timing.deregistrationDelayMs], [8_000, 40_000, 300_000]);
      const task = state.ecs.tasks[0]!;
      // PROVISIONING 8 s and PENDING 15 s of simulated time, within a tick.
      assert.ok(Math.abs(task.pullStartedAt - task.createdAt - 8) < 1, `provisioning ${task.pullStartedAt - task.createdAt} s`);
      assert.ok(Math.abs(task.startedAt - task.pullStartedAt - 15) < 1, `pending ${task.startedAt - task.pullStartedAt} s`);
      // COMPLETED needs 40 s (no health check) + 10 s after RUNNING: over a simulated minute in about a wall second.
      const completedAt = done.deployments![0]!.updatedAt!.getTime() / 1000;
      assert.ok(completedAt - task.createdAt >= 8 + 15 + 40, `completed ${completedAt - task.createdAt} s after the task was created`);
      assert.ok(wall < 5000, `took ${wall} ms of wall time`);
      assert.ok(state.timeEpochMs - Date.parse(state.wallTime) > 20_000, "simulated time runs ahead of the wall clock");
    } finally {
      h.abort.abort();
      await h.done;
    }
  });

  it("a scenario's timeScale can change the rate on the fly; simulated time never jumps back", async () => {
    const emu = await startEmulator({ scenario: { timing: FAST } });
    try {
      const now = async (): Promise<number> => ((await (await fetch(`${emu.url}/_emulator/state`)).json()) as { timeEpochMs: number }).timeEpochMs;
      const a = await now();
      emu.mergeScenario({ timeScale: 100 });
      await new Promise((r) => setTimeout(r, 50));
      const b = await now();
      assert.ok(b - a >= 100 * 40, `advanced ${b - a} simulated ms in ~50 wall ms`);
      emu.mergeScenario({ timeScale: 1 });
      const c = await now();
      assert.ok(c >= b);
      const h = runCli(["emulator", "--port", "0", "--time-scale", "0"]);
      await assert.rejects(h.done, (e: Error) => e.message.includes("--time-scale"));
    } finally {
      await emu.close();
    }
  });
});

describe("a newcomer's first release: emulator --seed", () => {
  it("seeds the local environment so that deploy --all --env local --create-missing works right after", async () => {
    const { REPO_ROOT, runCli: runTool } = await import("./helpers/cli.js");
    // The README's three commands are the ones this test runs.
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    assert.match(readme, /\nnode resources\/lgtm\/lgtm-deploy\.mjs emulator --seed +#/);
    assert.match(readme, /\nexport AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:4566 +#/);
    assert.match(readme, /\nnode resources\/lgtm\/lgtm-deploy\.mjs deploy --all --env local --create-missing --sha "\$\(git rev-parse --short=12 HEAD\)"\n/);
    const { execa: run } = await import("execa");
    const h = runCli(["--json", "--root", REPO_ROOT, "emulator", "--port", "0", "--seed", "--time-scale", "50"]);
    const records = mkdtempSync(join(tmpdir(), "emu-seed-"));
    try {
      const listening = JSON.parse(await firstLine(h)) as { url: string };
      const seeded = JSON.parse((await waitFor(async () => h.out[1], (l) => l !== undefined, 10_000))!) as {
        event: string;
        cluster: string;
        repositories: string[];
        shas: string[];
        images: Record<string, string[]>;
        next: string;
      };
      assert.equal(seeded.event, "seeded");
      assert.equal(seeded.cluster, "lgtm");
      assert.deepEqual(seeded.repositories, ["lgtm-mimir", "lgtm-loki", "lgtm-tempo", "lgtm-pyroscope", "lgtm-grafana", "lgtm-alloy"]);
      const head = (await run("git", ["rev-parse", "--short=12", "HEAD"], { cwd: REPO_ROOT })).stdout.trim();
      assert.equal(seeded.shas[0], head, "the current commit first");
      assert.ok(seeded.shas.length >= 1 && seeded.shas.length <= 4);
      assert.deepEqual(Object.keys(seeded.images), ["mimir", "loki", "tempo", "pyroscope", "grafana", "alloy"]);
      const lokiVersion = readFileSync(join(REPO_ROOT, "dockerfiles/loki/VERSION"), "utf8").trim();
      assert.equal(seeded.images.loki![0], `${lokiVersion}_g${head}`);
      assert.equal(seeded.images.loki!.length, seeded.shas.length);
      assert.equal(seeded.next, `AWS_ENDPOINT_URL=${listening.url} lgtm-deploy deploy --all --env local --create-missing --sha ${head}`);
      const r = await runTool(
        ["--root", REPO_ROOT, "--endpoint-url", listening.url, "deploy", "--all", "--env", "local", "--create-missing", "--sha", head, "--poll-interval", "100ms", "--bake", "1s", "--timeout", "2m", "--record", join(records, "{component}.json")],
        { env: { AWS_ACCESS_KEY_ID: undefined, AWS_ENDPOINT_URL: undefined } },
      );
      assert.equal(r.code, 0, r.stderr);
      const state = (await (await fetch(`${listening.url}/_emulator/state`)).json()) as { ecs: { services: { serviceName: string; steady: boolean }[] } };
      assert.equal(state.ecs.services.length, 6);
      assert.ok(state.ecs.services.every((s) => s.steady), JSON.stringify(state.ecs.services.map((s) => [s.serviceName, s.steady])));
    } finally {
      h.abort.abort();
      await h.done;
    }
    assert.equal(h.code(), 0);
  });

  it("advice that cannot work against the emulator says what to do instead", async () => {
    const { REPO_ROOT, runCli: runTool } = await import("./helpers/cli.js");
    const emu = await startEmulator({ scenario: { timing: FAST } });
    try {
      const env = { AWS_ACCESS_KEY_ID: undefined, AWS_ENDPOINT_URL: undefined, LGTM_DOCKER: join(REPO_ROOT, "test/fixtures/emulator/docker-no-registry.mjs") };
      const records = mkdtempSync(join(tmpdir(), "emu-push-"));
      const push = await runTool(["--root", REPO_ROOT, "--endpoint-url", emu.url, "build", "tempo", "--env", "local", "--sha", "0123456abcde", "--push", "--record", join(records, "b.json")], { env });
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /the local emulator has no Docker registry to push to: seed it with images instead \(lgtm-deploy emulator --seed\)/);
      const deploy = await runTool(["--root", REPO_ROOT, "--endpoint-url", emu.url, "deploy", "tempo", "--env", "local", "--sha", "0123456abcde", "--record", join(records, "{component}.json")], { env });
      assert.equal(deploy.code, 5, deploy.stderr);
      assert.match(deploy.stderr, /against the local emulator: lgtm-deploy emulator --seed/);
    } finally {
      await emu.close();
    }
  });
});
