import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { COMPONENT_NAMES, type ComponentName } from "../../src/core/catalogue.js";
import { allows, type Statement } from "../lib/iam-eval.js";
import { REPO_ROOT, loadEnvironment } from "../lib/inputs.js";
import { jenkinsDeployPolicy, POLICY_FILE } from "../lib/jenkins-policy.js";
import { ALLOY_CLOUDWATCH_ACTIONS, EXECUTION_ROLE_NAME, JENKINS_ROLE_NAME, s3Prefixes, secretResource, taskRoleName } from "../lib/roles.js";
import { prodWith, resolve, resourcesOfType, roleStatements, synth, type Json } from "./helpers.js";

const s = synth();
const ACCOUNT = "123456789012";
const REGION = "ap-northeast-2";
const BUCKET = "arn:aws:s3:::sys-lgtm-s3";
const task = Object.fromEntries(COMPONENT_NAMES.map((c) => [c, roleStatements(s, taskRoleName(c))])) as Record<ComponentName, Statement[]>;
const execution = roleStatements(s, EXECUTION_ROLE_NAME);
const OBJECT_WRITES = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
const OBJECT_ACTIONS = ["s3:GetObject", ...OBJECT_WRITES];
const withPrefixes = COMPONENT_NAMES.filter((c) => s3Prefixes(c).length > 0);
const secrets = [
  "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:lgtm/grafana/admin-password-AbCdEf",
  "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:lgtm/grafana/db-password-AbCdEf",
];

describe("task roles: each component only its own S3 prefixes of the existing bucket", () => {
  test("the prefixes come from the catalogue (the bucket's existing layout)", () => {
    assert.deepEqual(Object.fromEntries(withPrefixes.map((c) => [c, s3Prefixes(c)])), {
      mimir: ["blocks", "rules", "alerts"],
      loki: ["ftt-loki"],
      tempo: ["ftt-tempo"],
      pyroscope: ["ftt-pyroscope"],
    });
  });

  for (const c of withPrefixes) {
    test(`${c} reads, writes, deletes and lists its own prefixes`, () => {
      for (const p of s3Prefixes(c)) {
        for (const a of OBJECT_ACTIONS) assert.ok(allows(task[c], a, `${BUCKET}/${p}/01HXYZ/chunks/000001`), `${a} ${p}/`);
        for (const listed of [`${p}/`, p, `${p}/01HXYZ/`]) assert.ok(allows(task[c], "s3:ListBucket", BUCKET, { "s3:prefix": listed }), `list ${listed}`);
      }
    });
  }

  test("Loki's role cannot write, delete or even read Mimir's prefixes (blocks/ rules/ alerts/)", () => {
    for (const p of ["blocks", "rules", "alerts"]) {
      for (const a of OBJECT_ACTIONS) assert.equal(allows(task.loki, a, `${BUCKET}/${p}/anything`), false, `${a} ${p}/`);
      assert.equal(allows(task.loki, "s3:ListBucket", BUCKET, { "s3:prefix": `${p}/` }), false);
    }
    // ...while Mimir's own role can: the evaluation is not simply always false.
    assert.ok(allows(task.mimir, "s3:PutObject", `${BUCKET}/blocks/anything`));
  });

  test("property: no role touches another component's objects, whatever the key", () => {
    const pair = fc.tuple(fc.constantFrom(...COMPONENT_NAMES), fc.constantFrom(...withPrefixes)).filter(([a, b]) => a !== b);
    fc.assert(
      fc.property(pair, fc.string({ maxLength: 40 }), fc.constantFrom(...OBJECT_ACTIONS), ([who, owner], key, action) => {
        for (const p of s3Prefixes(owner)) {
          assert.equal(allows(task[who], action, `${BUCKET}/${p}/${key}`), false, `${who} ${action} ${p}/${key}`);
          assert.equal(allows(task[who], "s3:ListBucket", BUCKET, { "s3:prefix": `${p}/${key}` }), false);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("near misses stay outside: look-alike prefixes, the bucket root, another bucket, bucket-level actions", () => {
    const cases: Array<[ComponentName, string, string, Record<string, string>?]> = [
      ["loki", "s3:PutObject", `${BUCKET}/ftt-loki-old/x`],
      ["loki", "s3:GetObject", `${BUCKET}/ftt-lokix`],
      ["mimir", "s3:PutObject", `${BUCKET}/blocksx/1`],
      ["mimir", "s3:GetObject", `${BUCKET}/index.json`],
      ["loki", "s3:PutObject", "arn:aws:s3:::sys-lgtm-s3-backup/ftt-loki/x"],
      ["loki", "s3:ListBucket", BUCKET, { "s3:prefix": "" }],
      ["loki", "s3:ListBucket", BUCKET, { "s3:prefix": "ftt-loki-old/" }],
      ["loki", "s3:ListBucket", BUCKET],
      ["mimir", "s3:DeleteBucket", BUCKET],
      ["mimir", "s3:PutBucketPolicy", BUCKET],
      ["tempo", "s3:PutObjectAcl", `${BUCKET}/ftt-tempo/x`],
    ];
    for (const [who, action, resource, context] of cases) assert.equal(allows(task[who], action, resource, context), false, `${who} ${action} ${resource} ${JSON.stringify(context)}`);
  });

  test("Grafana and Alloy have no S3 access at all", () => {
    for (const c of ["grafana", "alloy"] as const) for (const a of [...OBJECT_ACTIONS, "s3:ListBucket"]) assert.equal(allows(task[c], a, `${BUCKET}/ftt-loki/x`, { "s3:prefix": "ftt-loki/" }), false);
  });

  test("an SSE-KMS bucket's key (stack.bucketKmsKeyArn) is usable by the components that store data, only", () => {
    const key = "arn:aws:kms:ap-northeast-2:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
    const k = synth(prodWith((e) => (e.stack.bucketKmsKeyArn = key)));
    for (const c of COMPONENT_NAMES) {
      const st = roleStatements(k, taskRoleName(c));
      assert.equal(allows(st, "kms:GenerateDataKey", key) && allows(st, "kms:Decrypt", key), s3Prefixes(c).length > 0, c);
    }
    for (const c of COMPONENT_NAMES) assert.equal(allows(task[c], "kms:Decrypt", key), false, `${c} without the input`);
  });
});

describe("Alloy: the CloudWatch read-only calls its config uses, nothing else", () => {
  test("the config uses prometheus.exporter.cloudwatch and names exactly these permissions", () => {
    const config = readFileSync(path.join(REPO_ROOT, "dockerfiles/alloy/config.alloy"), "utf8");
    assert.match(config, /prometheus\.exporter\.cloudwatch "/);
    for (const a of ALLOY_CLOUDWATCH_ACTIONS) assert.ok(config.includes(a), `config.alloy names ${a}`);
  });
  test("alloy may call them; no other role may; alloy may not write metrics or alarms", () => {
    for (const a of ALLOY_CLOUDWATCH_ACTIONS) {
      assert.ok(allows(task.alloy, a, "*"), a);
      for (const c of COMPONENT_NAMES.filter((x) => x !== "alloy")) assert.equal(allows(task[c], a, "*"), false, `${c} ${a}`);
    }
    for (const a of ["cloudwatch:PutMetricData", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "logs:GetLogEvents", "ec2:DescribeInstances"]) assert.equal(allows(task.alloy, a, "*"), false, a);
  });
});

describe("Grafana's secrets: read by the execution role at task start, by no task role", () => {
  test("the execution role reads exactly the two secrets the environment names", () => {
    for (const secret of secrets) assert.ok(allows(execution, "secretsmanager:GetSecretValue", secret), secret);
    assert.equal(allows(execution, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:prod/payments/db-XyZ123"), false);
    assert.equal(allows(execution, "secretsmanager:PutSecretValue", secrets[0]!), false);
  });
  test("no task role, Grafana's included, can read them", () => {
    for (const c of COMPONENT_NAMES) for (const secret of secrets) assert.equal(allows(task[c], "secretsmanager:GetSecretValue", secret), false, c);
    assert.deepEqual(task.grafana, [], "Grafana's task role has no permissions: it needs none at run time");
  });
  test("secret references: ECS's json-key suffix is cut, a partial ARN gets the 6-character suffix, SSM parameters work", () => {
    assert.deepEqual(secretResource(`${secrets[0]}:password::`), { action: "secretsmanager:GetSecretValue", resource: secrets[0] });
    assert.deepEqual(secretResource("arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:lgtm/grafana/admin"), { action: "secretsmanager:GetSecretValue", resource: "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:lgtm/grafana/admin-??????" });
    const ssm = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/lgtm/grafana/admin";
    assert.deepEqual(secretResource(ssm), { action: "ssm:GetParameters", resource: ssm });
  });
});

describe("execution role: pull the six images, write the six log groups", () => {
  for (const c of COMPONENT_NAMES) {
    test(c, () => {
      const repo = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/lgtm-${c}`;
      for (const a of ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]) assert.ok(allows(execution, a, repo), a);
      for (const a of ["ecr:PutImage", "ecr:DeleteRepository", "ecr:BatchDeleteImage"]) assert.equal(allows(execution, a, repo), false, a);
      const group = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/lgtm/${c}`;
      assert.ok(allows(execution, "logs:PutLogEvents", `${group}:log-stream:${c}/${c}/0123abcd`));
      assert.ok(allows(execution, "logs:CreateLogStream", `${group}:log-stream:${c}/${c}/0123abcd`));
      // awslogs-create-group: "true" in the task definitions calls CreateLogGroup even when the group exists.
      assert.ok(allows(execution, "logs:CreateLogGroup", `${group}:*`));
    });
  }
  test("no other repository or log group, no S3", () => {
    assert.ok(allows(execution, "ecr:GetAuthorizationToken", "*"));
    assert.equal(allows(execution, "ecr:BatchGetImage", `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/payments`), false);
    assert.equal(allows(execution, "logs:PutLogEvents", `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/payments:log-stream:x`), false);
    assert.equal(allows(execution, "s3:GetObject", `${BUCKET}/ftt-loki/x`), false);
  });
});

describe("trust", () => {
  const trustOf = (name: string) => resourcesOfType(s.json, "AWS::IAM::Role").find(([, r]) => r.Properties.RoleName === name)![1].Properties.AssumeRolePolicyDocument.Statement as Json[];
  test("task and execution roles: only ECS tasks of this account", () => {
    for (const name of [EXECUTION_ROLE_NAME, ...COMPONENT_NAMES.map(taskRoleName)]) {
      assert.deepEqual(trustOf(name), [
        {
          Action: "sts:AssumeRole",
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": `arn:aws:ecs:${REGION}:${ACCOUNT}:*` } },
        },
      ]);
    }
  });
  test("Jenkins deploy role: the environment's Jenkins principal, or the account when none is given", () => {
    assert.deepEqual(trustOf(JENKINS_ROLE_NAME), [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/jenkins-agent" } }]);
    const other = synth(prodWith((e) => delete e.stack.jenkinsPrincipalArn));
    const st = resourcesOfType(other.json, "AWS::IAM::Role").find(([, r]) => r.Properties.RoleName === JENKINS_ROLE_NAME)![1].Properties.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(resolve(st[0].Principal, other), { AWS: "arn:aws:iam::123456789012:root" });
  });
});

describe("Jenkins deploy role: iam/jenkins-deploy-policy.json is the one source", () => {
  const file = JSON.parse(readFileSync(path.join(REPO_ROOT, POLICY_FILE), "utf8"));
  const jenkins = roleStatements(s, JENKINS_ROLE_NAME);
  test("its only policy is the file, statement for statement (account bound)", () => {
    // CDK writes one-element lists as plain strings; compare lists.
    const lists = (sts: Json[]) => sts.map((st) => Object.fromEntries(Object.entries(st).map(([k, v]) => [k, ["Action", "Resource"].includes(k) && !Array.isArray(v) ? [v] : v])));
    assert.deepEqual(lists(jenkins), lists(JSON.parse(JSON.stringify(file.Statement).replaceAll(":123456789012:", `:${ACCOUNT}:`))));
    assert.deepEqual(
      jenkins.map((st) => st.Sid),
      file.Statement.map((st: Json) => st.Sid),
    );
  });
  test("it may pass every role the stack creates for tasks to ECS, and only to ECS", () => {
    for (const name of [EXECUTION_ROLE_NAME, ...COMPONENT_NAMES.map(taskRoleName)]) {
      const arn = `arn:aws:iam::${ACCOUNT}:role/${name}`;
      assert.ok(allows(jenkins, "iam:PassRole", arn, { "iam:PassedToService": "ecs-tasks.amazonaws.com" }), name);
      assert.equal(allows(jenkins, "iam:PassRole", arn, { "iam:PassedToService": "ec2.amazonaws.com" }), false, name);
    }
    assert.equal(allows(jenkins, "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/${JENKINS_ROLE_NAME}`, { "iam:PassedToService": "ecs-tasks.amazonaws.com" }), false);
  });

  const withPolicy = (edit: (policy: Json) => void) => {
    const root = mkdtempSync(path.join(tmpdir(), "lgtm-infra-"));
    cpSync(path.join(REPO_ROOT, "iam"), path.join(root, "iam"), { recursive: true });
    const policy = JSON.parse(readFileSync(path.join(root, POLICY_FILE), "utf8"));
    edit(policy);
    writeFileSync(path.join(root, POLICY_FILE), JSON.stringify(policy));
    return root;
  };
  const roles = [EXECUTION_ROLE_NAME, ...COMPONENT_NAMES.map(taskRoleName)].map((n) => `arn:aws:iam::${ACCOUNT}:role/${n}`);
  test("a policy that does not reach the environment's roles or cluster stops the synth, naming the gaps", () => {
    const noLoki = withPolicy((p) => {
      const pass = p.Statement.find((st: Json) => st.Action === "iam:PassRole");
      pass.Resource = pass.Resource.filter((r: string) => !r.endsWith("lgtm-ecs-task-loki"));
    });
    const otherCluster = withPolicy((p) => (p.Statement = JSON.parse(JSON.stringify(p.Statement).replaceAll("/lgtm/", "/observability/"))));
    try {
      assert.throws(() => jenkinsDeployPolicy(loadEnvironment("prod"), roles, noLoki), /iam:PassRole on arn:aws:iam::123456789012:role\/lgtm-ecs-task-loki/);
      assert.throws(() => jenkinsDeployPolicy(loadEnvironment("prod"), roles, otherCluster), /ecs:UpdateService on arn:aws:ecs:ap-northeast-2:123456789012:service\/lgtm\/lgtm-mimir/);
      assert.doesNotThrow(() => jenkinsDeployPolicy(loadEnvironment("prod"), roles));
    } finally {
      rmSync(noLoki, { recursive: true, force: true });
      rmSync(otherCluster, { recursive: true, force: true });
    }
  });
});

describe("the policy evaluator the tests rely on", () => {
  const st = (x: Partial<Statement>): Statement => ({ Effect: "Allow", ...x }) as Statement;
  test("wildcards: * and ?, actions case-insensitive, resources case-sensitive", () => {
    assert.ok(allows([st({ Action: "S3:get*", Resource: "arn:aws:s3:::b/p/*" })], "s3:GetObject", "arn:aws:s3:::b/p/x/y"));
    assert.equal(allows([st({ Action: "s3:Get*", Resource: "arn:aws:s3:::b/p/*" })], "s3:GetObject", "arn:aws:s3:::b/P/x"), false);
    assert.ok(allows([st({ Action: "s3:GetObject", Resource: "arn:aws:s3:::b/p?/x" })], "s3:GetObject", "arn:aws:s3:::b/p1/x"));
    assert.equal(allows([st({ Action: "s3:GetObject", Resource: "arn:aws:s3:::b/p.x" })], "s3:GetObject", "arn:aws:s3:::b/pax"), false, "regex characters are literal");
  });
  test("explicit deny wins; conditions must all hold; a missing context key fails the condition", () => {
    const allow = st({ Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Condition: { StringLike: { "s3:prefix": ["p/*"] } } });
    assert.ok(allows([allow], "s3:ListBucket", "arn:aws:s3:::b", { "s3:prefix": "p/x" }));
    assert.equal(allows([allow], "s3:ListBucket", "arn:aws:s3:::b"), false);
    assert.equal(allows([allow, st({ Effect: "Deny", Action: "*", Resource: "*" })], "s3:ListBucket", "arn:aws:s3:::b", { "s3:prefix": "p/x" }), false);
    assert.equal(allows([st({ Action: "x:Y", Resource: "*", Condition: { StringEquals: { k: "a*" } } })], "x:Y", "r", { k: "ab" }), false, "StringEquals takes no wildcard");
  });
  test("what it does not model throws instead of guessing", () => {
    assert.throws(() => allows([st({ NotAction: "s3:*", Resource: "*" })], "s3:GetObject", "r"), /NotAction is not modelled/);
    assert.throws(() => allows([st({ Action: "*", Resource: "*", Condition: { NumericLessThan: { k: "1" } } })], "s3:GetObject", "r", { k: "0" }), /NumericLessThan is not modelled/);
  });
});
