#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { explainError } from "./adapters/aws-errors.js";
import { EXIT_CODE_HELP, ExitCode } from "./core/errors.js";
import type { Io, Register } from "./commands/context.js";
import { COMMANDS } from "./commands/index.js";
import { VERSION } from "./version.js";

/** The options declared on the root program; every command accepts them before or after its name. */
const GLOBAL_OPTIONS = {
  root: new Option("--root <dir>", "project root with environments/, taskdefs/, dockerfiles/ (default: .)"),
  json: new Option("--json", "machine-readable output").default(false),
  endpointUrl: new Option("--endpoint-url <url>", "AWS endpoint (or AWS_ENDPOINT_URL[_ECS|_ECR]); loopback: dummy credentials"),
  region: new Option("--region <region>", "AWS region: may only repeat the environment file's"),
  debug: new Option("--debug", "print stack traces with errors").default(false),
} as const;
type GlobalName = keyof typeof GLOBAL_OPTIONS;

/** Which global options each command honours: its --help lists exactly these (a test keeps them in step). */
export const HONOURED_GLOBALS: Record<string, readonly GlobalName[]> = {
  components: ["json", "debug"],
  tag: ["root", "json", "debug"],
  version: ["root", "json", "debug"],
  render: ["root", "debug"],
  build: ["root", "json", "endpointUrl", "region", "debug"],
  deploy: ["root", "json", "endpointUrl", "region", "debug"],
  rollback: ["root", "json", "endpointUrl", "region", "debug"],
  status: ["root", "json", "endpointUrl", "region", "debug"],
  diff: ["root", "json", "endpointUrl", "region", "debug"],
  emulator: ["root", "json", "region", "debug"],
  rehearse: ["root", "json", "debug"],
  env: ["root", "json", "debug"],
  cost: ["root", "json", "debug"],
  check: ["root", "json", "debug"],
  migrate: ["root", "json", "debug"],
  cutover: ["root", "json", "debug"],
};
const ALL_GLOBALS = Object.keys(GLOBAL_OPTIONS) as GlobalName[];

function globalOptionsHelp(names: readonly GlobalName[]): string {
  const options = names.map((n) => GLOBAL_OPTIONS[n]);
  const width = Math.max(...options.map((o) => o.flags.length));
  return `Global options (before or after the command):\n${options.map((o) => `  ${o.flags.padEnd(width)}  ${o.description}`).join("\n")}`;
}

export function buildProgram(io: Io, setResult: (code: number) => void): Command {
  const output = {
    writeOut: (s: string) => io.out(s.replace(/\n$/, "")),
    writeErr: (s: string) => io.err(s.replace(/\n$/, "")),
    // Usage errors look like every other error: "lgtm-deploy: option '--events <n>' argument '-1' is invalid. ...".
    outputError: (s: string, write: (s: string) => void) => write(s.replace(/^error: /, "lgtm-deploy: ")),
  };
  const program = new Command("lgtm-deploy")
    .description("Release the Grafana LGTM stack (Mimir, Loki, Tempo, Pyroscope, Grafana, Alloy) to AWS ECS Fargate.")
    .version(VERSION, "-V, --version")
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput(output)
    .exitOverride();
  for (const name of ALL_GLOBALS) program.addOption(GLOBAL_OPTIONS[name]);
  for (const register of COMMANDS as Register[]) register(program, io, setResult);
  for (const sub of program.commands) {
    const honoured = HONOURED_GLOBALS[sub.name()] ?? ALL_GLOBALS;
    sub.exitOverride().addHelpText("after", `\n${globalOptionsHelp(honoured)}\n\n${EXIT_CODE_HELP}\n`);
    sub.configureOutput(output);
    for (const nested of sub.commands) nested.exitOverride().configureOutput(output).addHelpText("after", `\n${globalOptionsHelp(honoured)}\n\n${EXIT_CODE_HELP}\n`);
  }
  return program;
}

/** At most this much of an error message is printed without --debug (a console must not drown in one error). */
const MAX_MESSAGE = 4000;

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
    const debug = program.opts().debug === true || argv.includes("--debug");
    const { error: explained, unexpected } = explainError(error);
    let message = explained.message;
    if (!debug && message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters; --debug prints all)`;
    io.err(`lgtm-deploy: ${message}`);
    if (debug) {
      const cause = explained.cause ?? explained;
      io.err(cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause));
    } else if (unexpected) {
      io.err("lgtm-deploy: this is a bug in lgtm-deploy: re-run with --debug and report it with that output");
    }
    return explained.exitCode;
  }
}

/** Commands that change things or run for long: a closed stdout must not stop them half-way. */
const KEEP_RUNNING_WITHOUT_STDOUT = new Set(["deploy", "rollback", "build", "emulator", "rehearse", "bump"]);

/**
 * The bundle's first statement (scripts/build.mjs) listened for signals only so that one arriving during evaluation
 * is not fatal; Node delivers it after evaluation, to the handler installed now.
 */
function dropEarlySignalHandler(): void {
  const g = globalThis as { __lgtmEarlyHandler?: () => void };
  if (g.__lgtmEarlyHandler === undefined) return;
  process.off("SIGTERM", g.__lgtmEarlyHandler);
  process.off("SIGINT", g.__lgtmEarlyHandler);
  delete g.__lgtmEarlyHandler;
}

function main(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const args = process.argv.slice(2);
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
  dropEarlySignalHandler();
  // `lgtm-deploy ... | head -1`: the reader went away. A read-only command ends quietly with 0 (like cat); one that
  // changes things carries on without stdout and exits with its own code.
  let stdoutClosed = false;
  const keepRunning = args.some((a) => KEEP_RUNNING_WITHOUT_STDOUT.has(a));
  process.stdout.on("error", () => {
    // EPIPE (or any other write failure): stdout is gone; stderr still carries errors.
    stdoutClosed = true;
    if (!keepRunning) process.exit(ExitCode.Success);
  });
  process.stderr.on("error", () => undefined); // nowhere left to report it
  // A stray error outside the command's promise (a socket, a timer) is still one line, not a Node crash dump.
  const stray = (error: unknown): void => {
    const { error: explained, unexpected } = explainError(error);
    process.stderr.write(`lgtm-deploy: ${explained.message}\n`);
    if (args.includes("--debug")) process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    else if (unexpected) process.stderr.write("lgtm-deploy: this is a bug in lgtm-deploy: re-run with --debug and report it with that output\n");
    process.exit(unexpected ? ExitCode.Unexpected : explained.exitCode);
  };
  process.on("uncaughtException", stray);
  process.on("unhandledRejection", stray);
  const io: Io = {
    out: (line) => {
      if (!stdoutClosed) process.stdout.write(`${line}\n`);
    },
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    signal: abort.signal,
    hardStop: hardStop.signal,
  };
  run(args, io).then(
    (code) => {
      process.exitCode = code;
      // Open sockets (SDK keep-alive, emulator) must not keep a finished command alive.
      if (!args.includes("emulator")) setImmediate(() => process.exit(code));
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
