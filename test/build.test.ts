/**
 * `lgtm-deploy build` against the local ECR emulator, with a stand-in docker (test/fixtures/build/fake-docker.mjs)
 * that records argv and stdin and simulates the push with ECR PutImage.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { registerBuild } from "../src/commands/build.js";
import type { Io } from "../src/commands/context.js";
import { ExitCode, LgtmError } from "../src/core/errors.js";
import { startEmulator, type Emulator } from "../src/emulator/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FAKE_DOCKER = path.join(ROOT, "test", "fixtures", "build", "fake-docker.mjs");
const UPSTREAM = JSON.parse(readFileSync(path.join(ROOT, "dockerfiles", "upstream-versions.json"), "utf8")) as Record<string, string>;
const REGISTRY = "000000000000.dkr.ecr.us-east-1.amazonaws.com";

process.env.AWS_ACCESS_KEY_ID = "test";
process.env.AWS_SECRET_ACCESS_KEY = "test";
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

interface DockerCall {
  argv: string[];
  stdin: string;
  dockerConfig: string | null;
}

interface Run {
  code: number;
  out: string[];
  err: string[];
  json?: Record<string, unknown>;
}

let emu: Emulator;
let work: string;
let log: string;

/** Runs `lgtm-deploy build ...` in-process, the way src/cli.ts does (global options, exit codes). */
async function build(args: string[], extraEnv: Record<string, string> = {}, root = ROOT): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_MAX_ATTEMPTS: "2",
      LGTM_DOCKER: FAKE_DOCKER,
      FAKE_DOCKER_LOG: log,
      FAKE_DOCKER_STATE: work,
      FAKE_DOCKER_ECR_ENDPOINT: emu.url,
      SOURCE_DATE_EPOCH: "1767225600",
      GIT_URL: "https://git.example.com/platform/lgtm-deploy.git",
      ...extraEnv,
    },
    signal: new AbortController().signal,
  };
  let code: number = ExitCode.Success;
  const program = new Command("lgtm-deploy")
    .option("--root <dir>", "", root)
    .option("--json", "", false)
    .option("--endpoint-url <url>")
    .option("--region <region>")
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  registerBuild(program, io, (c) => {
    code = c;
  });
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  try {
    await program.parseAsync(["--endpoint-url", emu.url, ...args], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : ExitCode.InvalidInput;
    else if (error instanceof LgtmError) {
      err.push(`lgtm-deploy: ${error.message}`);
      code = error.exitCode;
    } else throw error;
  }
  const last = out.at(-1);
  let json: Record<string, unknown> | undefined;
  if (args.includes("--json") && last !== undefined) json = JSON.parse(last) as Record<string, unknown>;
  return { code, out, err, ...(json === undefined ? {} : { json }) };
}

function dockerCalls(): DockerCall[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as DockerCall);
}

const record = (name: string) => path.join(work, name);
const pairs = (argv: string[], flag: string) => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));

before(async () => {
  emu = await startEmulator({ port: 0 });
  work = mkdtempSync(path.join(tmpdir(), "lgtm-build-test-"));
});
after(async () => {
  await emu.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  log = path.join(work, `docker-${Math.random().toString(36).slice(2)}.log`);
  emu.clearCalls();
});

describe("lgtm-deploy build --push", () => {
  it("creates the repository, builds with labels/platform/base image, logs in via stdin only, pushes and reads the digest back", async () => {
    const r = await build(["--json", "build", "mimir", "--env", "local", "--sha", "0123456abcde", "--push", "--record", record("mimir.json")]);
    assert.equal(r.code, 0, r.err.join("\n"));
    const calls = emu.calls();
    // Repository settings on creation.
    const create = calls.find((c) => c.operation === "CreateRepository");
    assert.ok(create, "CreateRepository was called");
    assert.deepEqual(
      { name: (create.input as Record<string, unknown>).repositoryName, mut: (create.input as Record<string, unknown>).imageTagMutability, scan: (create.input as Record<string, unknown>).imageScanningConfiguration },
      { name: "lgtm-mimir", mut: "IMMUTABLE", scan: { scanOnPush: true } },
    );
    const policy = calls.find((c) => c.operation === "PutLifecyclePolicy");
    assert.ok(policy, "PutLifecyclePolicy was called");
    const rules = JSON.parse((policy.input as { lifecyclePolicyText: string }).lifecyclePolicyText).rules as Array<{ selection: Record<string, unknown>; action: Record<string, unknown> }>;
    assert.deepEqual(rules[0]!.selection, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 });
    assert.deepEqual(rules[0]!.action, { type: "expire" });

    // docker build arguments.
    const docker = dockerCalls();
    assert.deepEqual(docker.map((c) => c.argv[0]), ["build", "login", "push"]);
    const b = docker[0]!.argv;
    const tag = "1.1.0_g0123456abcde";
    const image = `${REGISTRY}/lgtm-mimir:${tag}`;
    assert.deepEqual(pairs(b, "--platform"), ["linux/amd64"]);
    assert.deepEqual(pairs(b, "-t"), [image]);
    assert.deepEqual(pairs(b, "-f"), [path.join(ROOT, "dockerfiles", "mimir", "Dockerfile")]);
    assert.equal(b.at(-1), path.join(ROOT, "dockerfiles", "mimir"));
    assert.ok(pairs(b, "--build-arg").includes(`BASE_IMAGE=${UPSTREAM.mimir}`));
    const labels = Object.fromEntries(pairs(b, "--label").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    assert.equal(labels["org.opencontainers.image.version"], "1.1.0+g0123456abcde");
    assert.equal(labels["org.opencontainers.image.revision"], "0123456abcde");
    assert.equal(labels["org.opencontainers.image.source"], "https://git.example.com/platform/lgtm-deploy.git");
    assert.equal(labels["org.opencontainers.image.created"], "2026-01-01T00:00:00Z");
    assert.equal(labels["org.opencontainers.image.base.name"], UPSTREAM.mimir);

    // Login: username AWS, password on stdin only, never in argv or any output.
    const login = docker[1]!;
    assert.deepEqual(login.argv, ["login", "--username", "AWS", "--password-stdin", REGISTRY]);
    assert.match(login.stdin, /^emulator-[0-9a-f]+$/, "the ECR password arrives on stdin");
    for (const c of docker) assert.ok(!c.argv.some((a) => a.includes(login.stdin)), `password leaked into argv of docker ${c.argv[0]}`);
    assert.ok(![...r.out, ...r.err].some((l) => l.includes(login.stdin)), "password leaked into the output");
    // A throw-away DOCKER_CONFIG, removed afterwards.
    assert.ok(login.dockerConfig !== null && docker[2]!.dockerConfig === login.dockerConfig);
    assert.equal(existsSync(login.dockerConfig!), false, "the temporary DOCKER_CONFIG (with the credentials) is removed");
    assert.equal(docker[0]!.dockerConfig, null, "build uses the normal docker config");

    // Push, then the digest read back from ECR.
    assert.deepEqual(docker[2]!.argv, ["push", image]);
    const describes = emu.calls().filter((c) => c.operation === "DescribeImages");
    assert.ok(describes.length >= 2, "DescribeImages before (skip check) and after the push");
    const digest = r.json?.digest as string;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(r.json, { component: "mimir", tag, image, digest, skipped: false });
    assert.deepEqual(JSON.parse(readFileSync(record("mimir.json"), "utf8")), r.json);
  });

  it("skips a tag that already exists in ECR: no docker build, exit 0, says so", async () => {
    const first = await build(["build", "loki", "--env", "local", "--sha", "feedbeef0001", "--push", "--record", record("loki1.json")]);
    assert.equal(first.code, 0, first.err.join("\n"));
    log = path.join(work, "docker-second.log");
    emu.clearCalls();
    const second = await build(["--json", "build", "loki", "--env", "local", "--sha", "feedbeef0001", "--push", "--record", record("loki2.json")]);
    assert.equal(second.code, 0, second.err.join("\n"));
    assert.deepEqual(dockerCalls(), [], "no docker command on a re-run");
    assert.equal(second.json?.skipped, true);
    assert.match(String(second.json?.digest), /^sha256:/);
    assert.ok(second.err.some((l) => /already exists in ECR .*skipping the build/.test(l)), second.err.join("\n"));
    assert.ok(!emu.calls().some((c) => c.operation === "CreateRepository" || c.operation === "PutImage"));
    assert.equal(JSON.parse(readFileSync(record("loki2.json"), "utf8")).skipped, true);
  });

  it("--dry-run prints the docker commands, runs no docker command and makes no mutating AWS call", async () => {
    const r = await build(["build", "tempo", "--env", "local", "--sha", "abcdef12345", "--push", "--dry-run", "--record", record("tempo.json")]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.deepEqual(dockerCalls(), []);
    assert.deepEqual(emu.calls().filter((c) => c.mutating), []);
    assert.ok(!emu.calls().some((c) => c.operation === "GetAuthorizationToken"));
    const text = r.out.join("\n");
    assert.match(text, /would create ECR repository lgtm-tempo/);
    assert.match(text, /fake-docker\.mjs build --platform linux\/amd64 .*-t 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com\/lgtm-tempo:1\.1\.0_gabcdef12345/);
    assert.match(text, /login --username AWS --password-stdin 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com < \(ECR authorization token\)/);
    assert.match(text, /push 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com\/lgtm-tempo:1\.1\.0_gabcdef12345/);
    assert.equal(existsSync(record("tempo.json")), false);
  });

  it("a docker build failure exits 1 with docker's exit code and the last lines of its output", async () => {
    const r = await build(["build", "grafana", "--env", "local", "--sha", "0000000aaaa1", "--push", "--record", record("g.json")], { FAKE_DOCKER_BUILD_EXIT: "17" });
    assert.equal(r.code, 1);
    const message = r.err.at(-1) ?? "";
    assert.match(message, /docker build failed with exit code 17/);
    assert.match(message, /ERROR: failed to solve/);
    assert.match(message, /#30 step 30/);
    assert.doesNotMatch(message, /#1 step 1 of/, "only the tail of the output");
    assert.deepEqual(dockerCalls().map((c) => c.argv[0]), ["build"], "no login or push after a failed build");
  });

  it("a missing docker CLI exits 5", async () => {
    const r = await build(["build", "alloy", "--env", "local", "--sha", "0000000aaaa2"], { LGTM_DOCKER: path.join(work, "no-such-docker") });
    assert.equal(r.code, 5);
    assert.match(r.err.at(-1) ?? "", /docker CLI not found/);
  });

  it("an ECR authentication failure exits 5 (GetAuthorizationToken failing, docker login refused)", async () => {
    emu.mergeScenario({ api: { GetAuthorizationToken: { errorRate: 1 } } });
    try {
      const r = await build(["build", "pyroscope", "--env", "local", "--sha", "0000000aaaa3", "--push", "--record", record("p.json")], { AWS_MAX_ATTEMPTS: "1" });
      assert.equal(r.code, 5, r.err.join("\n"));
      assert.match(r.err.at(-1) ?? "", /ECR authentication failed \(GetAuthorizationToken\)/);
    } finally {
      emu.setScenario({});
    }
    const r2 = await build(["build", "pyroscope", "--env", "local", "--sha", "0000000aaaa4", "--push", "--record", record("p.json")], { FAKE_DOCKER_LOGIN_EXIT: "1" });
    assert.equal(r2.code, 5, r2.err.join("\n"));
    assert.match(r2.err.at(-1) ?? "", /ECR authentication failed: docker login to 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com exited with code 1/);
    assert.ok(!dockerCalls().some((c) => c.argv[0] === "push"));
  });

  it("a push rejected because the immutable tag holds other content exits 5 with a clear message", async () => {
    const r = await build(["build", "mimir", "--env", "local", "--sha", "0000000bbbb1", "--push", "--record", record("race.json")], { FAKE_DOCKER_RACE: "1" });
    assert.equal(r.code, 5, r.err.join("\n"));
    assert.match(r.err.at(-1) ?? "", /tag 1\.1\.0_g0000000bbbb1 already exists in the immutable repository lgtm-mimir with different content/);
  });
});

describe("lgtm-deploy build: bad input exits 2 before anything runs", () => {
  const expectInvalid = async (args: string[], pattern: RegExp, root = ROOT) => {
    const r = await build(args, {}, root);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err.join("\n")}`);
    assert.match(r.err.join("\n"), pattern);
    assert.deepEqual(dockerCalls(), []);
    assert.deepEqual(emu.calls().filter((c) => c.mutating), []);
  };

  it("unknown component", () => expectInvalid(["build", "prometheus", "--env", "local", "--sha", "0123456"], /unknown component "prometheus"/));

  it("--platform that is not amd64/arm64, or that contradicts the environment's cpuArchitecture", async () => {
    await expectInvalid(["build", "mimir", "--env", "local", "--sha", "0123456", "--platform", "linux/s390x"], /invalid --platform "linux\/s390x"/);
    await expectInvalid(["build", "mimir", "--env", "local", "--sha", "0123456", "--platform", "linux/arm64"], /contradicts .*X86_64 runs linux\/amd64/);
  });

  it("a missing Dockerfile, a missing config file and an invalid VERSION", async () => {
    const root = mkdtempSync(path.join(work, "root-"));
    cpSync(path.join(ROOT, "environments"), path.join(root, "environments"), { recursive: true });
    cpSync(path.join(ROOT, "dockerfiles"), path.join(root, "dockerfiles"), { recursive: true });
    rmSync(path.join(root, "dockerfiles", "tempo", "Dockerfile"));
    rmSync(path.join(root, "dockerfiles", "loki", "config.yaml"));
    writeFileSync(path.join(root, "dockerfiles", "alloy", "VERSION"), "1.0\n");
    await expectInvalid(["build", "tempo", "--env", "local", "--sha", "0123456"], /Dockerfile not found: .*tempo\/Dockerfile/, root);
    await expectInvalid(["build", "loki", "--env", "local", "--sha", "0123456"], /copies .*loki\/config\.yaml, which does not exist/, root);
    await expectInvalid(["build", "alloy", "--env", "local", "--sha", "0123456"], /VERSION.*"1\.0" is not a release version/, root);
  });
});
