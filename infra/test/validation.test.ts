import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { loadEnvironment, REPO_ROOT } from "../lib/inputs.js";
import { LgtmStack } from "../lib/lgtm-stack.js";

// The only test with CDK's built-in CloudFormation validation on (~6 s: its WASM engine); every other synth turns it off.
test("built-in CloudFormation validation, as cdk.json configures it: prod has no finding; a broken stack beside it is caught", () => {
  const outdir = mkdtempSync(path.join(tmpdir(), "lgtm-cdk-validate-"));
  try {
    const { context } = JSON.parse(readFileSync(path.join(REPO_ROOT, "infra/cdk.json"), "utf8")) as { context: Record<string, unknown> };
    assert.equal(context["@aws-cdk/core:validateAgainstDefaultRules"], true, "findings are errors, not warnings");
    const app = new App({ builtinCloudFormationValidation: true, outdir, context });
    new LgtmStack(app, loadEnvironment("prod"));
    // The same check must be able to fail: a target group with an out-of-range health check interval (max 300).
    const broken = new Stack(app, "Broken", { env: { account: "123456789012", region: "ap-northeast-2" } });
    new elbv2.CfnTargetGroup(broken, "Tg", { healthCheckIntervalSeconds: 1000, port: 80, protocol: "HTTP", vpcId: "vpc-0123456789abcdef0" });
    assert.throws(() => app.synth(), /Validation failed/);
    const report = JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8")) as { pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }> };
    assert.deepEqual(report.pluginReports.map((p) => p.pluginName), ["CloudFormation Validate"]);
    const where = report.pluginReports.flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
    assert.deepEqual(where, ["F3034 Broken/Tg"], "only the broken stack has findings");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
