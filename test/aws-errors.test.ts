/**
 * src/adapters/aws-errors.ts: every AWS SDK error class the tool can meet → a documented exit code and one line naming
 * the call and the resource. Real SDK errors come from a stand-in AWS endpoint answering with AWS JSON 1.1 errors
 * (and from the emulator); network failures from dead ports; the rest from error objects shaped like the SDK's.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { createAwsClients, type AwsClients } from "../src/adapters/aws.js";
import { explainError, mapAwsError, tagAwsError } from "../src/adapters/aws-errors.js";
import { describeServices } from "../src/adapters/ecs.js";
import { describeImage } from "../src/adapters/ecr.js";
import { ExitCode, InvalidInputError } from "../src/core/errors.js";
import { startEmulator, type Emulator } from "../src/emulator/index.js";
import { runCli } from "./helpers/cli.js";

/** A stand-in AWS endpoint: every call answers with the configured AWS JSON 1.1 error. */
let fake: Server;
let fakeUrl: string;
let answer: { status: number; type: string; message: string } = { status: 400, type: "AccessDeniedException", message: "denied" };
let emu: Emulator;

before(async () => {
  fake = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(answer.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" });
      res.end(JSON.stringify({ __type: answer.type, message: answer.message }));
    });
  });
  await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  emu = await startEmulator({ port: 0, maxLifetimeMs: 5 * 60_000 });
});
after(async () => {
  await new Promise((r) => fake.close(r));
  await emu.close();
});

async function withClients<T>(url: string, fn: (c: AwsClients) => Promise<T>): Promise<T> {
  const c = await createAwsClients({ region: "us-east-1", endpointUrl: url, env: { AWS_MAX_ATTEMPTS: "2" }, environmentFile: "environments/local.json" });
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

async function mapped(url: string, call: (c: AwsClients) => Promise<unknown>) {
  const error = await withClients(url, async (c) => {
    try {
      await call(c);
    } catch (e) {
      return e;
    }
    assert.fail("the call should fail");
  });
  const m = mapAwsError(error);
  assert.ok(m, `mapped: ${String(error)}`);
  assert.ok(!m.message.includes("\n"), "one line");
  assert.ok(m.message.length < 700, m.message);
  assert.equal(m.cause, error, "the original is kept for --debug");
  return m;
}

describe("AWS errors from a real SDK call are mapped", () => {
  const table: Array<[string, number, string, number, RegExp]> = [
    ["AccessDenied names the action, the resource and the IAM policy file", 400, "AccessDeniedException", ExitCode.Precondition, /^access denied: ecs:DescribeServices on service "lgtm-loki" in cluster "lgtm" \(AccessDeniedException: User: .* is not authorized to perform: ecs:DescribeServices\); the role running lgtm-deploy needs it: see iam\/jenkins-deploy-policy\.json$/],
    ["expired credentials", 400, "ExpiredTokenException", ExitCode.Precondition, /^the AWS credentials have expired \(ECS DescribeServices: ExpiredTokenException\); get fresh ones/],
    ["an unknown access key", 400, "UnrecognizedClientException", ExitCode.Precondition, /^AWS rejected the credentials for ECS DescribeServices in us-east-1 \(UnrecognizedClientException/],
    ["a bad signature", 403, "InvalidSignatureException", ExitCode.Precondition, /^AWS rejected the credentials/],
    ["cluster not found names the cluster and the environment file", 400, "ClusterNotFoundException", ExitCode.Precondition, /^ECS cluster "lgtm" not found in us-east-1 at http:\/\/127\.0\.0\.1:\d+ \(DescribeServices\): check "cluster" and "region" in environments\/local\.json/],
    ["service not found", 400, "ServiceNotFoundException", ExitCode.Precondition, /^ECS service "lgtm-loki" in cluster "lgtm" not found \(DescribeServices\)/],
    ["invalid parameter", 400, "InvalidParameterException", ExitCode.InvalidInput, /^ECS DescribeServices rejected the request for service "lgtm-loki" in cluster "lgtm" \(InvalidParameterException: .*\); fix the template/],
    ["ClientException that is about permissions", 400, "ClientException", ExitCode.Precondition, /^access denied: ecs:DescribeServices/],
    ["throttling past the retries", 400, "ThrottlingException", ExitCode.Precondition, /^AWS throttled ECS DescribeServices after 2 attempts and the SDK's retries ran out \(ThrottlingException\)/],
    ["a 5xx past the retries", 500, "ServerException", ExitCode.Precondition, /^AWS answered ECS DescribeServices with a server error \(HTTP 500 ServerException\) after 2 attempts: an AWS-side problem/],
    ["a 503 ServiceUnavailable", 503, "ServiceUnavailableException", ExitCode.Precondition, /server error \(HTTP 503/],
    ["an update in progress", 400, "UpdateInProgressException", ExitCode.Precondition, /^ECS DescribeServices refused for service "lgtm-loki"/],
    ["an unknown operation (endpoint of another service)", 400, "UnknownOperationException", ExitCode.Precondition, /did not answer ECS DescribeServices like AWS ECS does/],
    ["an error class nobody listed", 400, "BrandNewException", ExitCode.Precondition, /^ECS DescribeServices failed \(HTTP 400 BrandNewException\): /],
  ];
  for (const [name, status, type, code, message] of table) {
    test(name, async () => {
      answer = { status, type, message: type === "AccessDeniedException" || type === "ClientException" ? "User: arn:aws:sts::000000000000:assumed-role/jenkins/build-42 is not authorized to perform: ecs:DescribeServices" : `${type} happened` };
      const m = await mapped(fakeUrl, (c) => describeServices(c.ecs, "lgtm", ["lgtm-loki"]));
      assert.equal(m.exitCode, code, m.message);
      assert.match(m.message, message);
    });
  }

  test("ECR: a missing repository names it and says to build and push", async () => {
    answer = { status: 400, type: "RepositoryNotFoundException", message: "The repository with name 'lgtm-loki' does not exist" };
    const m = await mapped(fakeUrl, (c) => c.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["lgtm-loki"] })));
    assert.equal(m.exitCode, ExitCode.Precondition);
    assert.match(m.message, /^ECR repository "lgtm-loki" not found in us-east-1 .*build and push the image first/);
  });

  test("emulator: DescribeServices on a missing cluster", async () => {
    const m = await mapped(emu.url, (c) => describeServices(c.ecs, "nope", ["lgtm-tempo"]));
    assert.equal(m.exitCode, ExitCode.Precondition);
    assert.match(m.message, /^ECS cluster "nope" not found in us-east-1/);
  });

  test("emulator: throttled on every attempt", async () => {
    emu.setScenario({ api: { DescribeImages: { throttleRate: 1 } } });
    try {
      const m = await mapped(emu.url, (c) => describeImage(c.ecr, "lgtm-tempo", "1.0.0_gabcdef1"));
      assert.match(m.message, /^AWS throttled ECR DescribeImages after 2 attempts/);
    } finally {
      emu.setScenario({});
    }
  });

  test("emulator: dropped connections", async () => {
    emu.setScenario({ api: { "*": { dropRate: 1 } } });
    try {
      const m = await mapped(emu.url, (c) => describeServices(c.ecs, "lgtm", ["lgtm-tempo"]));
      assert.equal(m.exitCode, ExitCode.Precondition);
      assert.match(m.message, /^cannot reach http:\/\/127\.0\.0\.1:\d+ for ECS DescribeServices after 2 attempts: the connection was dropped before an answer/);
    } finally {
      emu.setScenario({});
    }
  });
});

describe("errors shaped like the SDK's (cases a test server cannot produce cheaply)", () => {
  const call = { service: "ECS", operation: "DescribeServices", input: { cluster: "lgtm", services: ["lgtm-loki"] }, region: "ap-northeast-2", environmentFile: "environments/prod.json" };
  const sdk = (props: Record<string, unknown>, tagged = true) => {
    const e = Object.assign(new Error(String(props.message ?? "x")), props);
    if (tagged) tagAwsError(e, call);
    return e;
  };
  const table: Array<[string, Error, number, RegExp]> = [
    ["no credentials at all", sdk({ name: "CredentialsProviderError", message: "Could not load credentials from any providers" }), ExitCode.Precondition, /^no AWS credentials found for ECS DescribeServices .*bind the Jenkins AWS credentials or set AWS_PROFILE/],
    ["the SDK's request timeout", sdk({ name: "TimeoutError", code: "ETIMEDOUT", $metadata: { attempts: 8 } }), ExitCode.Precondition, /^ECS DescribeServices to AWS ECS in ap-northeast-2 timed out after 8 attempts: the network to AWS is slow or blocked/],
    ["DNS failure", sdk({ code: "ENOTFOUND", hostname: "ecs.ap-northeast-2.amazonaws.com", $metadata: { attempts: 3 } }), ExitCode.Precondition, /^cannot reach ecs\.ap-northeast-2\.amazonaws\.com for ECS DescribeServices after 3 attempts: the host name does not resolve/],
    ["a TLS-inspecting proxy", sdk({ code: "SELF_SIGNED_CERT_IN_CHAIN" }), ExitCode.Precondition, /NODE_EXTRA_CA_CERTS/],
    ["connection reset (the SDK calls it TimeoutError)", sdk({ name: "TimeoutError", code: "ECONNRESET", message: "socket hang up" }), ExitCode.Precondition, /^cannot reach AWS ECS in ap-northeast-2 for ECS DescribeServices: the connection was dropped before an answer/],
    ["a platform version ECS does not know", sdk({ name: "PlatformUnknownException", $fault: "client", $metadata: { httpStatusCode: 400 } }), ExitCode.InvalidInput, /rejected the request/],
    ["a service quota", sdk({ name: "LimitExceededException", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "Too many revisions" }), ExitCode.Precondition, /refused .*LimitExceededException: Too many revisions/],
    ["an unknown AWS error without the call tag still is not a bug", sdk({ name: "Weird", $metadata: { httpStatusCode: 418 } }, false), ExitCode.Precondition, /^an AWS call failed \(HTTP 418 Weird\)/],
  ];
  for (const [name, error, code, message] of table) {
    test(name, () => {
      const m = mapAwsError(error);
      assert.ok(m);
      assert.equal(m.exitCode, code, m.message);
      assert.match(m.message, message);
    });
  }

  test("a long AWS message is clipped; the whole line stays short", () => {
    const m = mapAwsError(sdk({ name: "InvalidParameterException", $metadata: { httpStatusCode: 400 }, message: "x".repeat(5000) }))!;
    assert.ok(m.message.length < 500, String(m.message.length));
  });

  test("explainError: our errors pass through, file-system errors name the path, anything else is a bug (exit 1)", () => {
    const ours = new InvalidInputError("bad flag");
    assert.equal(explainError(ours).error, ours);
    const fs = Object.assign(new Error("EACCES: permission denied, open '/x/y.json'"), { code: "EACCES", path: "/x/y.json", syscall: "open" });
    const e1 = explainError(fs);
    assert.equal(e1.error.exitCode, ExitCode.InvalidInput);
    assert.equal(e1.error.message, "cannot open /x/y.json: permission denied (EACCES)");
    const bug = explainError(new TypeError("cannot read properties of undefined (reading 'x')"));
    assert.equal(bug.unexpected, true);
    assert.equal(bug.error.exitCode, ExitCode.Unexpected);
    assert.match(bug.error.message, /^unexpected error: TypeError: cannot read properties/);
    assert.equal(mapAwsError(new TypeError("x")), undefined, "a bug is not an AWS error");
  });
});

describe("through the CLI", () => {
  test("status when the role may not DescribeClusters: exit 5, one line naming the action and the policy file", async () => {
    answer = { status: 400, type: "AccessDeniedException", message: "User: arn:aws:sts::000000000000:assumed-role/jenkins/x is not authorized to perform: ecs:DescribeClusters on resource: *" };
    const r = await runCli(["status", "--env", "local", "--endpoint-url", fakeUrl], { env: { AWS_MAX_ATTEMPTS: "1" } });
    assert.equal(r.code, 5);
    assert.equal(r.stderr.split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^lgtm-deploy: access denied: ecs:DescribeClusters on cluster "lgtm" .*see iam\/jenkins-deploy-policy\.json$/);
  });

  test("--debug adds the stack of the original error", async () => {
    answer = { status: 400, type: "ExpiredTokenException", message: "The security token included in the request is expired" };
    const r = await runCli(["--debug", "status", "--env", "local", "--endpoint-url", fakeUrl], { env: { AWS_MAX_ATTEMPTS: "1" } });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^lgtm-deploy: the AWS credentials have expired/);
    assert.match(r.stderr, /ExpiredTokenException: The security token included in the request is expired\n\s+at /);
  });
});
