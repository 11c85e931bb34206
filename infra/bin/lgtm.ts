/**
 * The CDK app: one stack per environment that has "stack" inputs (environments/<name>.json), or only
 * `-c env=<name>`. Offline: no lookups (the VPC is imported by id), so `cdk synth` needs no AWS access.
 */
import { App } from "aws-cdk-lib";
import { loadEnvironment, stackEnvironmentNames } from "../lib/inputs.js";
import { LgtmStack } from "../lib/lgtm-stack.js";

const app = new App();
try {
  const selected = app.node.tryGetContext("env") as string | undefined;
  const names = selected === undefined ? stackEnvironmentNames() : [selected];
  if (names.length === 0) throw new Error('no environment file has "stack" inputs: nothing to synthesize');
  for (const name of names) new LgtmStack(app, loadEnvironment(name));
} catch (error) {
  // One line for people, like lgtm-deploy; the stack trace only helps when debugging the app itself.
  process.stderr.write(`lgtm infra: ${(error as Error).message}\n`);
  process.exit(1);
}
