/**
 * The bad-input table: mistakes a tired operator makes at 3 a.m. and values a hostile Jenkins parameter carries.
 * Every case asserts the documented exit code, that the message names the file, field or flag, that stderr is short
 * and carries no stack trace, and — from the emulator's call log — that no mutating AWS call was made.
 * (deploy/rollback-specific flags and rollback targets have their own table; deploy/rollback cases here fail in the
 * shared layers: environment files, templates, --region, endpoints.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAwsClients, type AwsClients } from "../src/adapters/aws.js";
import { Project } from "../src/adapters/files.js";
import { makeTag } from "../src/core/tag.js";
import { startEmulator, type Emulator } from "../src/emulator/index.js";
import { createCluster, createRepository, pushManifest } from "../src/rehearsal/seed.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { copyProject, type TempProject } from "./helpers/project.js";

const SHA = "a1b2c3d4e5f6";
const OTHER_ACCOUNT = "999999999999";

interface Ctx {
  emu: string;
  deadHttp: string;
  deadHttps: string;
  html: string;
  out: string;
}

interface Case {
  name: string;
  args: (ctx: Ctx, p: TempProject) => string[];
  setup?: (p: TempProject, ctx: Ctx) => void;
  env?: Record<string, string>;
  code: number;
  /** The message must match: it names the file, field, flag or resource. */
  says: RegExp;
  /** Paths (from the context) that must not exist afterwards: nothing was written. */
  notWritten?: (ctx: Ctx) => string[];
}

const envFile = (name: string) => `environments/${name}.json`;
const editEnv = (p: TempProject, fn: (e: any) => void, name = "local") => p.edit(envFile(name), fn);
const editTemplate = (p: TempProject, file: string, fn: (t: any) => void) => p.edit(`taskdefs/${file}`, fn);
/** Writes a key twice into a JSON text (the second copy after the first). */
const duplicateKey = (text: string, key: string, value: string) => text.replace(`"${key}":`, `"${key}": ${value},\n  "${key}":`);
const local = (...args: string[]) => (ctx: Ctx) => ["--endpoint-url", ctx.emu, ...args];

const CASES: Case[] = [
  // ---- environment files -----------------------------------------------------------------------------------------
  { name: "env: duplicate top-level key (the last would silently win)", setup: (p) => p.write(envFile("local"), duplicateKey(p.read(envFile("local")), "region", '"eu-west-1"')), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /environments\/local\.json: invalid JSON at line \d+, column \d+: duplicate key "region" \(first at line \d+/ },
  { name: "env: duplicate nested key", setup: (p) => p.write(envFile("local"), p.read(envFile("local")).replace('"assignPublicIp": "DISABLED"', '"assignPublicIp": "DISABLED", "assignPublicIp": "ENABLED"')), args: local("status", "--env", "local"), code: 2, says: /local\.json: invalid JSON at line \d+, column \d+: duplicate key "assignPublicIp" in network/ },
  { name: "env: UTF-16 file (Windows 'Unicode')", setup: (p) => writeFileSync(p.path(envFile("local")), Buffer.from(`\uFEFF${p.read(envFile("local"))}`, "utf16le")), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: the file is UTF-16 encoded; save it as UTF-8/ },
  { name: "env: not UTF-8 (Latin-1 byte)", setup: (p) => writeFileSync(p.path(envFile("local")), Buffer.concat([Buffer.from('{"description": "caf'), Buffer.from([0xe9]), Buffer.from('"}')])), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: not valid UTF-8 at line 1, column \d+/ },
  { name: "env: trailing comma", setup: (p) => p.write(envFile("local"), p.read(envFile("local")).replace('"environment": "local"', '"environment": "local",')), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: invalid JSON at line \d+, column \d+: trailing comma before \}/ },
  { name: "env: a // comment", setup: (p) => p.write(envFile("local"), `// local\n${p.read(envFile("local"))}`), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: invalid JSON at line 1, column 1: unexpected "\/"/ },
  { name: "env: empty file", setup: (p) => p.write(envFile("local"), "  \n"), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: invalid JSON at line 2, column 1: the file is empty/ },
  { name: "env: a zero-width space pasted into the file", setup: (p) => p.write(envFile("local"), p.read(envFile("local")).replace('"cluster"', '\u200b"cluster"')), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: invalid JSON at line \d+, column \d+: unexpected invisible character U\+200B/ },
  { name: "env: top level is a list", setup: (p) => p.write(envFile("local"), "[]"), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /local\.json: invalid environment:\n.*field "\(top level\)"/ },
  { name: "env: wrong type (desiredCount as a string)", setup: (p) => editEnv(p, (e) => (e.components = { loki: { desiredCount: "3" } })), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "components\.loki\.desiredCount": .*expected number.*\(line \d+, column \d+\)/ },
  { name: "env: unknown field (typo)", setup: (p) => editEnv(p, (e) => (e.netwrok = e.network)), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "\(top level\)": unknown field\(s\) "netwrok".*\(line \d+, column \d+\)/ },
  { name: "env: missing required field points at its parent", setup: (p) => editEnv(p, (e) => delete e.outputs.roles.executionRoleArn), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "outputs\.roles\.executionRoleArn": is required.*\(line \d+, column \d+\)/ },
  { name: "env: placeholder value <rds-host>", setup: (p) => editEnv(p, (e) => (e.grafana.database = { ...e.grafana.database, type: "postgres", host: "<rds-host>" })), args: () => ["render", "grafana", "--env", "local", "--sha", SHA], code: 2, says: /field "grafana\.database\.host": "<rds-host>" is a placeholder/ },
  { name: "env: placeholder value REPLACE_ME", setup: (p) => editEnv(p, (e) => (e.cluster = "REPLACE_ME")), args: local("status", "--env", "local"), code: 2, says: /field "cluster": "REPLACE_ME" is a placeholder/ },
  { name: "env: template placeholder {{account}} left in a tag", setup: (p) => editEnv(p, (e) => (e.tags.owner = "{{account}}")), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "tags\.owner": "\{\{account\}\}" is a placeholder/ },
  { name: "env: documentation account 123456789012 sent to real AWS", args: () => ["status", "--env", "prod"], code: 2, says: /environments\/prod\.json: field "account" is still the placeholder 123456789012/ },
  { name: "env: task role ARN of another account", setup: (p) => editEnv(p, (e) => (e.outputs.roles.taskRoleArns.loki = `arn:aws:iam::${OTHER_ACCOUNT}:role/lgtm-ecs-task-loki`)), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "outputs\.roles\.taskRoleArns\.loki": account 999999999999 differs from "account" 000000000000.*\(line \d+, column \d+\)/ },
  { name: "env: the stack's Jenkins principal of another account", setup: (p) => editEnv(p, (e) => (e.stack = { vpcId: "vpc-0123456789abcdef0", loadBalancerIngress: {}, jenkinsPrincipalArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/jenkins` })), args: local("status", "--env", "local"), code: 2, says: /field "stack\.jenkinsPrincipalArn": account 999999999999 differs/ },
  { name: "env: Cloud Map service in another region", setup: (p) => editEnv(p, (e) => (e.outputs.cloudMap.services.loki = e.outputs.cloudMap.services.loki.replace("us-east-1", "eu-west-1"))), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "outputs\.cloudMap\.services\.loki": region eu-west-1 differs from "region" us-east-1/ },
  { name: "env: target group of another account", setup: (p) => editEnv(p, (e) => { e.loadBalancers = { grafana: {} }; e.outputs.loadBalancers = { grafana: { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${OTHER_ACCOUNT}:targetgroup/g/0123456789abcdef` } }; }), args: () => ["render", "grafana", "--env", "local", "--sha", SHA], code: 2, says: /field "outputs\.loadBalancers\.grafana\.targetGroupArn": account 999999999999 differs/ },
  { name: "env: secret in another region", setup: (p) => editEnv(p, (e) => (e.grafana.adminPasswordSecret = e.grafana.adminPasswordSecret.replace("us-east-1", "ap-northeast-2"))), args: () => ["render", "grafana", "--env", "local", "--sha", SHA], code: 2, says: /field "grafana\.adminPasswordSecret": region ap-northeast-2 differs/ },
  { name: "env: ECR registry in another region", setup: (p) => editEnv(p, (e) => (e.ecr.registry = "000000000000.dkr.ecr.eu-west-1.amazonaws.com")), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "ecr\.registry": region eu-west-1 differs/ },
  { name: "env: ARN of another partition", setup: (p) => editEnv(p, (e) => (e.outputs.roles.executionRoleArn = "arn:aws-cn:iam::000000000000:role/x")), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /field "outputs\.roles\.executionRoleArn": partition aws-cn does not match region us-east-1/ },
  { name: "env: postgres without a host", setup: (p) => editEnv(p, (e) => (e.grafana.database.type = "postgres")), args: () => ["render", "grafana", "--env", "local", "--sha", SHA], code: 2, says: /field "grafana\.database\.host": is required for postgres/ },
  { name: "env: --env with capitals", args: () => ["render", "loki", "--env", "Prod", "--sha", SHA], code: 2, says: /invalid --env "Prod"/ },
  { name: "env: --env that does not exist", args: () => ["render", "loki", "--env", "staging", "--sha", SHA], code: 2, says: /unknown environment "staging": .*staging\.json does not exist \(known: local, prod\)/ },
  { name: "env: the file is a directory", setup: (p) => mkdirSync(p.path(envFile("qa"))), args: () => ["render", "loki", "--env", "qa", "--sha", SHA], code: 2, says: /environment file environments\/qa\.json is a directory|qa\.json is a directory/ },
  { name: "env: BOM is accepted (documented)", setup: (p) => p.write(envFile("local"), `\uFEFF${p.read(envFile("local"))}`), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 0, says: /^$/ },

  // ---- templates ---------------------------------------------------------------------------------------------------
  { name: "template: unknown placeholder, with line:column", setup: (p) => editTemplate(p, "loki.json", (t) => (t.containerDefinitions[0].image = "{{imagee}}")), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/loki\.json: unknown placeholder \{\{imagee\}\} at containerDefinitions\[0\]\.image \(line \d+, column \d+; did you mean \{\{image\}\}\?\)/ },
  { name: "template: unresolved placeholder", setup: (p) => editTemplate(p, "tempo.json", (t) => (t.containerDefinitions[0].image = "{{image}")), args: () => ["render", "tempo", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/tempo\.json: unresolved placeholder in "\{\{image\}" at containerDefinitions\[0\]\.image \(line \d+, column \d+/ },
  { name: "template: placeholder with no value for this component", setup: (p) => editTemplate(p, "alloy.json", (t) => (t.family = "{{memberlistJoin}}")), args: () => ["render", "alloy", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/alloy\.json: placeholder \{\{memberlistJoin\}\} at family has no value for this component and environment \(line \d+, column \d+\)/ },
  { name: "template: duplicate key", setup: (p) => p.write("taskdefs/loki.json", p.read("taskdefs/loki.json").replace('"networkMode": "awsvpc",', '"networkMode": "awsvpc", "networkMode": "bridge",')), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/loki\.json: invalid JSON at line \d+, column \d+: duplicate key "networkMode"/ },
  { name: "template: the component's own container is essential: false", setup: (p) => editTemplate(p, "loki.json", (t) => (t.containerDefinitions[0].essential = false)), args: () => ["render", "loki", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/loki\.json: .*\n\s+field "containerDefinitions\[0\]\.essential": the loki container must be essential/ },
  { name: "template: missing service template (render --service)", setup: (p) => rmSync(p.path("taskdefs/tempo.service.json")), args: () => ["render", "tempo", "--env", "local", "--sha", SHA, "--service"], code: 2, says: /template not found: .*taskdefs\/tempo\.service\.json/ },
  { name: "template: service template with a duplicate key", setup: (p) => p.write("taskdefs/mimir.service.json", p.read("taskdefs/mimir.service.json").replace('"launchType": "FARGATE",', '"launchType": "FARGATE", "launchType": "EC2",')), args: () => ["render", "mimir", "--env", "local", "--sha", SHA, "--service", "update"], code: 2, says: /taskdefs\/mimir\.service\.json: invalid JSON at line \d+, column \d+: duplicate key "launchType"/ },
  { name: "template: wrong family", setup: (p) => editTemplate(p, "grafana.json", (t) => (t.family = "grafana")), args: () => ["render", "grafana", "--env", "local", "--sha", SHA], code: 2, says: /taskdefs\/grafana\.json: rendered task definition .*\n\s+field "family": expected "lgtm-grafana"/ },

  // ---- VERSION files -----------------------------------------------------------------------------------------------
  { name: "VERSION: two parts", setup: (p) => p.write("dockerfiles/loki/VERSION", "1.0\n"), args: () => ["tag", "loki", "--sha", SHA], code: 2, says: /dockerfiles\/loki\/VERSION: "1\.0" is not a release version/ },
  { name: "VERSION: empty", setup: (p) => p.write("dockerfiles/tempo/VERSION", "\n"), args: () => ["render", "tempo", "--env", "local", "--sha", SHA], code: 2, says: /dockerfiles\/tempo\/VERSION: empty/ },
  { name: "VERSION: v-prefixed", setup: (p) => p.write("dockerfiles/mimir/VERSION", "v1.2.3\n"), args: () => ["version", "bump", "mimir", "patch"], code: 2, says: /dockerfiles\/mimir\/VERSION: "v1\.2\.3" is not a release version/ },
  { name: "VERSION: missing file", setup: (p) => rmSync(p.path("dockerfiles/alloy/VERSION")), args: () => ["version", "show", "alloy"], code: 2, says: /VERSION file not found: .*dockerfiles\/alloy\/VERSION/ },

  // ---- status ------------------------------------------------------------------------------------------------------
  { name: "status --events -1", args: local("status", "--env", "local", "--events", "-1"), code: 2, says: /--events must be a non-negative integer, got "-1"/ },
  { name: "status --events 101 (ECS keeps 100)", args: local("status", "--env", "local", "--events", "101"), code: 2, says: /--events must be at most 100, got 101/ },
  { name: "status --events 2.5", args: local("status", "--env", "local", "--events", "2.5"), code: 2, says: /--events must be a non-negative integer, got "2\.5"/ },
  { name: "status: unknown component", args: local("status", "lokii", "--env", "local"), code: 2, says: /unknown component "lokii"/ },
  { name: "status: the cluster does not exist", setup: (p) => editEnv(p, (e) => (e.cluster = "lgtm-typo")), args: local("status", "--env", "local"), code: 5, says: /ECS cluster "lgtm-typo" does not exist in us-east-1: check "cluster" and "region" in .*environments\/local\.json/ },
  { name: "status: a service is missing", args: local("status", "loki", "--env", "local"), code: 5, says: /service lgtm-loki does not exist in cluster "lgtm"/ },
  { name: "status: missing --env", args: local("status", "loki"), code: 2, says: /required option '--env <name>' not specified/ },

  // ---- diff --------------------------------------------------------------------------------------------------------
  { name: "diff --sha that is not hex", args: local("diff", "tempo", "--env", "local", "--sha", "HEAD~1"), code: 2, says: /invalid --sha "HEAD~1"/ },
  { name: "diff --sha with a shell payload", args: local("diff", "tempo", "--env", "local", "--sha", "$(rm -rf ~)"), code: 2, says: /invalid --sha "\$\(rm -rf ~\)"/ },
  { name: "diff --tag latest", args: local("diff", "tempo", "--env", "local", "--tag", "latest"), code: 2, says: /--tag "latest" is not allowed/ },
  { name: "diff --tag and --sha", args: local("diff", "tempo", "--env", "local", "--tag", `1.0.0_g${SHA}`, "--sha", SHA), code: 2, says: /give --tag or --sha, not both/ },
  { name: "diff --tag that is not ours", args: local("diff", "tempo", "--env", "local", "--tag", "v1.2.3"), code: 2, says: /"v1\.2\.3" is not an lgtm-deploy image tag/ },
  { name: "diff --build -1", args: local("diff", "tempo", "--env", "local", "--sha", SHA, "--branch", "x", "--build", "-1"), code: 2, says: /--build must be a non-negative integer, got "-1"/ },
  { name: "diff --build beyond a safe integer", args: local("diff", "tempo", "--env", "local", "--sha", SHA, "--branch", "x", "--build", "99999999999999999999"), code: 2, says: /--build must be at most 9007199254740991/ },
  { name: "diff: the cluster does not exist", setup: (p) => editEnv(p, (e) => (e.cluster = "gone")), args: local("diff", "tempo", "--env", "local", "--sha", SHA), code: 5, says: /ECS cluster "gone" does not exist in us-east-1/ },
  { name: "diff: two components", args: local("diff", "tempo", "loki", "--env", "local", "--sha", SHA), code: 2, says: /too many arguments/ },

  // ---- render ------------------------------------------------------------------------------------------------------
  { name: "render --digest that is not sha256:<64 hex>", args: () => ["render", "loki", "--env", "local", "--sha", SHA, "--digest", "sha256:abc"], code: 2, says: /invalid --digest "sha256:abc"/ },
  { name: "render --digest with --all", args: () => ["render", "--all", "--env", "local", "--sha", SHA, "--digest", `sha256:${"a".repeat(64)}`], code: 2, says: /--digest applies to a single component/ },
  { name: "render --out in a folder that does not exist", args: (ctx) => ["render", "loki", "--env", "local", "--sha", SHA, "--out", path.join(ctx.out, "missing", "loki.json")], code: 2, says: /--out .*missing\/loki\.json: the directory .*missing does not exist/, notWritten: (ctx) => [path.join(ctx.out, "missing")] },
  { name: "render --all --out under a folder that does not exist", args: (ctx) => ["render", "--all", "--env", "local", "--sha", SHA, "--out", path.join(ctx.out, "a", "b")], code: 2, says: /--out .*a\/b: the directory .*\/a does not exist/, notWritten: (ctx) => [path.join(ctx.out, "a")] },
  { name: "render --all --out that is a file", setup: (_p, ctx) => writeFileSync(path.join(ctx.out, "file.json"), "{}"), args: (ctx) => ["render", "--all", "--env", "local", "--sha", SHA, "--out", path.join(ctx.out, "file.json")], code: 2, says: /--out .*file\.json: exists and is not a directory/ },
  { name: "render --out that is a directory (one component)", args: (ctx) => ["render", "loki", "--env", "local", "--sha", SHA, "--out", ctx.out], code: 2, says: /--out .*: is a directory; give a file name/ },
  { name: "render --out empty", args: () => ["render", "loki", "--env", "local", "--sha", SHA, "--out", ""], code: 2, says: /--out is empty/ },
  { name: "render --service bogus", args: () => ["render", "loki", "--env", "local", "--sha", SHA, "--service", "delete"], code: 2, says: /--service \[kind\]' argument 'delete' is invalid/ },
  { name: "render --all and a component", args: () => ["render", "loki", "--all", "--env", "local", "--sha", SHA], code: 2, says: /give component names or --all, not both/ },

  // ---- build, tag, version, components -----------------------------------------------------------------------------
  { name: "build --platform s390x", args: local("build", "loki", "--env", "local", "--sha", SHA, "--platform", "linux/s390x"), code: 2, says: /invalid --platform "linux\/s390x"/ },
  { name: "build --record in a folder that does not exist (checked before ECR and docker)", args: (ctx) => ["--endpoint-url", ctx.emu, "build", "tempo", "--env", "local", "--sha", SHA, "--push", "--record", path.join(ctx.out, "nope", "b.json")], env: { LGTM_DOCKER: "/bin/true" }, code: 2, says: /--record .*nope\/b\.json: the directory .*nope does not exist/ },
  { name: "build --push without docker: exit 5 before any repository is created", args: (ctx) => ["--endpoint-url", ctx.emu, "build", "loki", "--env", "local", "--sha", SHA, "--push", "--record", path.join(ctx.out, "b.json")], env: { LGTM_DOCKER: "/nonexistent/docker" }, code: 5, says: /docker CLI not found: "\/nonexistent\/docker"/ },
  { name: "build --sha too short", args: local("build", "loki", "--env", "local", "--sha", "abc"), code: 2, says: /invalid --sha "abc": expected 7 to 40 hexadecimal characters/ },
  { name: "tag --sha of 41 characters", args: () => ["tag", "loki", "--sha", "a".repeat(41)], code: 2, says: /invalid --sha "a{41}"/ },
  { name: "tag --build 12abc", args: () => ["tag", "loki", "--sha", SHA, "--branch", "f", "--build", "12abc"], code: 2, says: /--build must be a non-negative integer, got "12abc"/ },
  { name: "tag --release-branch empty (an unset Jenkins parameter)", args: () => ["tag", "loki", "--sha", SHA, "--release-branch", ""], code: 2, says: /--release-branch is empty/ },
  { name: "tag --branch blank", args: () => ["tag", "loki", "--sha", SHA, "--branch", "  "], code: 2, says: /--branch is empty/ },
  { name: "build: --env that does not exist", args: local("build", "loki", "--env", "qa", "--sha", SHA), code: 2, says: /unknown environment "qa"/ },
  { name: "--json with a value", args: () => ["--json=yes", "components"], code: 2, says: /unknown option '--json=yes'/ },
  { name: "version bump: one argument too many", args: () => ["version", "bump", "loki", "minor", "now"], code: 2, says: /too many arguments for 'bump'/ },
  { name: "tag: unknown component", args: () => ["tag", "prometheus", "--sha", SHA], code: 2, says: /unknown component "prometheus" \(known: mimir, loki/ },
  { name: "version bump: unknown part", args: () => ["version", "bump", "loki", "huge"], code: 2, says: /invalid bump "huge": use major, minor or patch/ },
  { name: "version: no sub-command", args: () => ["version", "loki"], code: 2, says: /unknown command 'loki'|error/ },
  { name: "components: an unexpected argument", args: () => ["components", "loki"], code: 2, says: /too many arguments for 'components'/ },

  // ---- emulator ----------------------------------------------------------------------------------------------------
  { name: "emulator --port 70000", args: () => ["emulator", "--port", "70000"], code: 2, says: /--port: expected 0\.\.65535, got '70000'/ },
  { name: "emulator --max-lifetime soon", args: () => ["emulator", "--max-lifetime", "soon"], code: 2, says: /--max-lifetime must be a duration/ },
  { name: "emulator --max-lifetime beyond Node's timers", args: () => ["emulator", "--max-lifetime", "999h"], code: 2, says: /--max-lifetime 999h is too long/ },
  { name: "emulator --scenario that does not exist", args: (ctx) => ["emulator", "--port", "0", "--scenario", path.join(ctx.out, "none.json")], code: 2, says: /none\.json: cannot read scenario file/ },
  { name: "emulator --scenario with a duplicate key", setup: (_p, ctx) => writeFileSync(path.join(ctx.out, "s.json"), '{\n  "seed": 1,\n  "seed": 2\n}\n'), args: (ctx) => ["emulator", "--port", "0", "--scenario", path.join(ctx.out, "s.json")], code: 2, says: /s\.json: invalid JSON at line 3, column 3: duplicate key "seed" \(first at line 2, column 3\)/ },

  // ---- global options, endpoints, regions --------------------------------------------------------------------------
  { name: "--endpoint-url 'not a url'", args: () => ["status", "--env", "local", "--endpoint-url", "not a url"], code: 2, says: /invalid --endpoint-url "not a url": contains white space/ },
  { name: "--endpoint-url without a scheme", args: () => ["status", "--env", "local", "--endpoint-url", "127.0.0.1:4566"], code: 2, says: /invalid --endpoint-url "127\.0\.0\.1:4566": not a URL; expected http:\/\/host:port/ },
  { name: "--endpoint-url ftp://", args: () => ["status", "--env", "local", "--endpoint-url", "ftp://127.0.0.1"], code: 2, says: /the scheme must be http or https, not ftp/ },
  { name: "--endpoint-url with credentials in it", args: () => ["status", "--env", "local", "--endpoint-url", "http://AKIA:secret@127.0.0.1:4566"], code: 2, says: /invalid --endpoint-url .*: must not contain credentials/ },
  { name: "--endpoint-url empty", args: () => ["status", "--env", "local", "--endpoint-url", ""], code: 2, says: /invalid --endpoint-url "": empty/ },
  { name: "AWS_ENDPOINT_URL_ECS malformed", args: () => ["status", "--env", "local"], env: { AWS_ENDPOINT_URL_ECS: "http//localhost" }, code: 2, says: /invalid AWS_ENDPOINT_URL_ECS "http\/\/localhost"/ },
  { name: "endpoint unreachable (connection refused)", args: (ctx) => ["status", "--env", "local", "--endpoint-url", ctx.deadHttp], code: 5, says: /cannot reach http:\/\/127\.0\.0\.1:\d+ for ECS DescribeClusters .*connection refused/ },
  { name: "https to a dead port", args: (ctx) => ["diff", "tempo", "--env", "local", "--sha", SHA, "--endpoint-url", ctx.deadHttps], code: 5, says: /cannot reach https:\/\/127\.0\.0\.1:\d+ for ECS DescribeClusters .*connection refused/ },
  { name: "https to the (http) emulator", args: (ctx) => ["status", "--env", "local", "--endpoint-url", ctx.emu.replace("http:", "https:")], code: 5, says: /cannot reach https:\/\/127\.0\.0\.1:\d+ for ECS DescribeClusters: the TLS handshake failed: is it a plain http:\/\/ endpoint/ },
  { name: "endpoint that is not AWS (an HTML server)", args: (ctx) => ["status", "--env", "local", "--endpoint-url", ctx.html], code: 5, says: /http:\/\/127\.0\.0\.1:\d+ did not answer ECS DescribeClusters like AWS ECS does \(HTTP 404/ },
  { name: "--region differs from the environment's", args: local("status", "--env", "local", "--region", "eu-west-1"), code: 2, says: /--region "eu-west-1" differs from "region" us-east-1 in .*environments\/local\.json/ },
  { name: "--region with a trailing space (Jenkins parameter)", args: local("diff", "tempo", "--env", "local", "--sha", SHA, "--region", "us-east-1 "), code: 2, says: /--region "us-east-1 " differs from "region" us-east-1/ },
  { name: "--root that does not exist", args: () => ["render", "loki", "--env", "local", "--sha", SHA, "--root", "/nonexistent/lgtm"], code: 2, says: /--root \/nonexistent\/lgtm: not a directory/ },
  { name: "AWS_MAX_ATTEMPTS=0", args: local("status", "--env", "local"), env: { AWS_MAX_ATTEMPTS: "0" }, code: 2, says: /invalid AWS_MAX_ATTEMPTS "0": expected a whole number from 1 to 20/ },
  { name: "an unknown global option", args: () => ["--verbose-ish", "status", "--env", "local"], code: 2, says: /unknown option '--verbose-ish'/ },

  // ---- deploy / rollback failing in the shared layers --------------------------------------------------------------
  { name: "deploy: --region mismatch, before any AWS call", args: local("deploy", "tempo", "--env", "local", "--sha", SHA, "--region", "us-west-2"), code: 2, says: /--region "us-west-2" differs from "region" us-east-1/ },
  { name: "deploy: role of another account in the environment", setup: (p) => editEnv(p, (e) => (e.outputs.roles.executionRoleArn = `arn:aws:iam::${OTHER_ACCOUNT}:role/x`)), args: local("deploy", "tempo", "--env", "local", "--sha", SHA), code: 2, says: /field "outputs\.roles\.executionRoleArn": account 999999999999 differs/ },
  { name: "deploy: essential: false in the template", setup: (p) => editTemplate(p, "tempo.json", (t) => (t.containerDefinitions[0].essential = false)), args: local("deploy", "tempo", "--env", "local", "--sha", SHA), code: 2, says: /field "containerDefinitions\[0\]\.essential": the tempo container must be essential/ },
  { name: "deploy: malformed endpoint", args: () => ["deploy", "tempo", "--env", "local", "--sha", SHA, "--endpoint-url", "http://"], code: 2, says: /invalid --endpoint-url "http:\/\/": not a URL/ },
  { name: "deploy --env prod with its placeholders and no endpoint", args: () => ["deploy", "tempo", "--env", "prod", "--sha", SHA, "--dry-run"], code: 2, says: /prod\.json: field "account" is still the placeholder/ },
  { name: "rollback: duplicate key in the environment", setup: (p) => p.write(envFile("local"), duplicateKey(p.read(envFile("local")), "cluster", '"other"')), args: local("rollback", "tempo", "--env", "local", "--to", "previous"), code: 2, says: /local\.json: invalid JSON at line \d+, column \d+: duplicate key "cluster"/ },
  { name: "rollback: --region mismatch", args: local("rollback", "tempo", "--env", "local", "--region", "ap-northeast-2"), code: 2, says: /--region "ap-northeast-2" differs/ },
];

let emu: Emulator;
let seedClients: AwsClients;
let html: Server;
const ctx = {} as Ctx;
const roots: string[] = [];

async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  emu = await startEmulator({ port: 0, maxLifetimeMs: 10 * 60_000 });
  const env = new Project(REPO_ROOT).environment("local");
  seedClients = await createAwsClients({ region: env.region, endpointUrl: emu.url, env: {} });
  await createCluster(seedClients, env);
  await createRepository(seedClients, env, "tempo");
  await pushManifest(seedClients, env, "tempo", makeTag({ version: new Project(REPO_ROOT).version("tempo"), sha: SHA }).tag);
  html = createServer((_req, res) => {
    res.writeHead(404, { "content-type": "text/html" });
    res.end("<html><body>Not Found</body></html>");
  });
  await new Promise<void>((r) => html.listen(0, "127.0.0.1", r));
  ctx.emu = emu.url;
  ctx.deadHttp = `http://127.0.0.1:${await deadPort()}`;
  ctx.deadHttps = `https://127.0.0.1:${await deadPort()}`;
  ctx.html = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
});

after(async () => {
  seedClients.destroy();
  await emu.close();
  await new Promise((r) => html.close(r));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("bad input: exit code, a message naming the file/field/flag, short stderr, no mutating call", () => {
  test("the table has at least 45 cases", () => assert.ok(CASES.length >= 45, String(CASES.length)));
  for (const c of CASES) {
    test(c.name, async () => {
      const p = copyProject();
      roots.push(p.root);
      ctx.out = mkdtempSync(path.join(tmpdir(), "lgtm-bad-out-"));
      roots.push(ctx.out);
      c.setup?.(p, ctx);
      emu.clearCalls();
      const args = c.args(ctx, p);
      const r = await runCli(args.includes("--root") ? args : ["--root", p.root, ...args], {
        env: { AWS_MAX_ATTEMPTS: "2", AWS_EC2_METADATA_DISABLED: "true", AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined, AWS_ENDPOINT_URL_ECS: undefined, AWS_ENDPOINT_URL_ECR: undefined, ...c.env },
      });
      const where = `${args.join(" ")}\nstderr: ${r.stderr}`;
      if (process.env.SHOW_STDERR) console.log(`## ${c.name}\n${r.stderr}`);
      assert.equal(r.code, c.code, where);
      assert.match(r.stderr, c.says, where);
      assert.ok(Buffer.byteLength(r.stderr) < 2048, `stderr is ${Buffer.byteLength(r.stderr)} bytes: ${where}`);
      assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace without --debug: ${where}`);
      assert.doesNotMatch(r.stderr, /unexpected error/, where);
      assert.deepEqual(emu.calls().filter((call) => call.mutating).map((call) => call.operation), [], `no mutating AWS call: ${where}`);
      for (const f of c.notWritten?.(ctx) ?? []) assert.equal(existsSync(f), false, `${f} must not be written`);
      if (c.code !== 0) assert.deepEqual(readdirSync(ctx.out).filter((f) => !["file.json", "s.json"].includes(f)), [], "nothing written to the output folder");
    });
  }
});
