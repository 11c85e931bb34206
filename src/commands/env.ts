import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import { Project } from "../adapters/files.js";
import { parseEnvironment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import { globals, type Io } from "./context.js";

const SYNC_HELP = `
Writes what the CDK stack (infra/) created into the environment's "outputs" section: Cloud Map service ARNs, role
ARNs, the tasks' security group, target groups, deployment alarm names, the load balancer's DNS name. Inputs (every
other field) are left byte for byte as they are. The stack is lgtm-<env> (or the environment's stack.name); its
outputs are mapped by src/core/stack-outputs.ts. The new file is validated like any environment file before it is
written; nothing is written when anything is wrong.

  aws cloudformation describe-stacks --stack-name lgtm-prod --output json > stack.json
  lgtm-deploy env sync --env prod --stack-outputs stack.json

Failures: unreadable or malformed file, wrong account or region, outputs that do not validate: 2; the stack is
not in a settled state (e.g. UPDATE_IN_PROGRESS) or lacks outputs this version expects (deploy it again): 5.`;

interface SyncOptions {
  env: string;
  stackOutputs: string;
  dryRun: boolean;
}

type Flat = Map<string, string>;

function flatten(value: unknown, prefix: string, out: Flat = new Map()): Flat {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}.${k}`, out);
  } else if (value !== undefined) out.set(prefix, JSON.stringify(value));
  return out;
}

function readStackOutputs(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--stack-outputs ${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function registerEnv(program: Command, io: Io): void {
  const env = program.command("env").description("environment files: env sync writes the CDK stack's outputs into one");
  env
    .command("sync")
    .description("write the stack's CloudFormation outputs into environments/<env>.json (its outputs section)")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .requiredOption("--stack-outputs <file>", 'output of "aws cloudformation describe-stacks --output json" ("-": stdin)')
    .option("--dry-run", "print what would change, write nothing", false)
    .addHelpText("after", SYNC_HELP)
    .action(async (opts: SyncOptions, cmd: Command) => {
      // Loaded on use, like the emulator: commands that do not sync start no slower.
      const { parseDescribeStacks, spliceOutputs, syncOutputs, withoutOutputs } = await import("../core/env-sync.js");
      const g = globals(cmd);
      const project = new Project(g.root);
      const source = project.environmentSource(opts.env);
      // Inputs alone: stale or broken outputs must never stop the sync that replaces them.
      const inputs = parseEnvironment(opts.env, source.rel, withoutOutputs(source.text));
      const label = opts.stackOutputs === "-" ? "--stack-outputs (stdin)" : opts.stackOutputs;
      const result = syncOutputs(inputs, parseDescribeStacks(readStackOutputs(opts.stackOutputs), label), label);
      const text = spliceOutputs(source.text, result.outputs);
      try {
        parseEnvironment(opts.env, source.rel, text);
      } catch (error) {
        throw new InvalidInputError(`the outputs of stack "${result.stack.name}" do not validate; ${source.rel} was not changed:\n${(error as Error).message}`);
      }
      const before = flatten((JSON.parse(source.text) as { outputs?: unknown }).outputs ?? {}, "outputs");
      const after = flatten(result.outputs, "outputs");
      const changed = [...new Set([...before.keys(), ...after.keys()])]
        .filter((k) => before.get(k) !== after.get(k))
        .map((field) => ({ field, from: before.has(field) ? JSON.parse(before.get(field)!) : null, to: after.has(field) ? JSON.parse(after.get(field)!) : null }));
      const write = !opts.dryRun && text !== source.text;
      if (write) {
        const tmp = `${source.path}.lgtm-sync-${process.pid}`;
        writeFileSync(tmp, text);
        renameSync(tmp, source.path);
      }
      for (const w of result.warnings) io.err(`warning: ${w}`);
      if (g.json) {
        io.out(JSON.stringify({ file: source.rel, stack: result.stack, written: write, dryRun: opts.dryRun, changed, warnings: result.warnings }, null, 2));
        return;
      }
      const from = `stack ${result.stack.name} (${result.stack.status}, ${result.stack.lastUpdated})`;
      if (changed.length === 0) io.out(`${source.rel}: outputs already match ${from}; nothing to write`);
      else io.out(`${source.rel}: outputs from ${from}: ${changed.length} field(s) ${opts.dryRun ? "would change (dry run, nothing written)" : "changed"}`);
      for (const c of changed) io.out(`  ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
    });
}
