#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { EXIT_CODE_HELP, ExitCode, LgtmError } from "./core/errors.js";
import type { Io, Register } from "./commands/context.js";
import { COMMANDS } from "./commands/index.js";
import { VERSION } from "./version.js";

export function buildProgram(io: Io, setResult: (code: number) => void): Command {
  const program = new Command("lgtm-deploy")
    .description("Release the Grafana LGTM stack (Mimir, Loki, Tempo, Pyroscope, Grafana, Alloy) to AWS ECS Fargate.")
    .version(VERSION, "-V, --version")
    .option("--root <dir>", "project root holding dockerfiles/, taskdefs/, environments/ (default: the current directory)")
    .option("--json", "machine-readable output", false)
    .option("--endpoint-url <url>", "AWS endpoint override (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECS/_ECR also honoured)")
    .option("--region <region>", "AWS region (default: the environment's region)")
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) })
    .exitOverride();
  for (const register of COMMANDS as Register[]) register(program, io, setResult);
  for (const sub of program.commands) {
    sub.exitOverride().addHelpText("after", `\n${EXIT_CODE_HELP}\n`);
    sub.configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) });
  }
  return program;
}

/** Runs the CLI and resolves to the exit code; never calls process.exit (tests call this in-process). */
export async function run(argv: string[], io: Io): Promise<number> {
  let result: number = ExitCode.Success;
  const program = buildProgram(io, (code) => {
    result = code;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return result;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; every usage error is invalid input.
      return error.exitCode === 0 ? ExitCode.Success : ExitCode.InvalidInput;
    }
    if (error instanceof LgtmError) {
      io.err(`lgtm-deploy: ${error.message}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`lgtm-deploy: unexpected error: ${message}`);
    return ExitCode.Unexpected;
  }
}

function main(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const abort = new AbortController();
  const hardStop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      // A second signal means "stop now": listeners write their records synchronously, then the process ends.
      hardStop.abort(sig);
      process.exit(130);
    }
    process.stderr.write(`lgtm-deploy: received ${sig}, stopping the watch\n`);
    abort.abort(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    signal: abort.signal,
    hardStop: hardStop.signal,
  };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      // Open sockets (SDK keep-alive, emulator) must not keep a finished command alive.
      if (!process.argv.includes("emulator")) setImmediate(() => process.exit(code));
    },
    (error: unknown) => {
      process.stderr.write(`lgtm-deploy: ${String(error)}\n`);
      process.exit(ExitCode.Unexpected);
    },
  );
}

// Run only as the entry point (bundle or tsx), not when imported by tests.
const entry = process.argv[1] ?? "";
if (/(cli\.ts|lgtm-deploy\.mjs|lgtm-deploy)$/.test(entry)) main();
