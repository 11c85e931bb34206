/**
 * The docker CLI, through execa with argument arrays only (never a shell). The executable is `docker` on PATH,
 * overridable with LGTM_DOCKER. Secrets (the ECR password) travel on stdin only.
 */
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { vendor } from "./vendor.js";
import { ExitCode, LgtmError, PreconditionError } from "../core/errors.js";

export interface DockerOptions {
  /** Environment of the docker process (io.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Written to the process's stdin, e.g. the registry password for --password-stdin. Never logged. */
  input?: string;
  /** Each line docker writes (stdout and stderr), for progress output. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Extra environment variables for this call (e.g. DOCKER_CONFIG). */
  extraEnv?: Record<string, string>;
}

export interface DockerResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export const STDERR_TAIL_LINES = 15;

export function dockerExecutable(env: Readonly<Record<string, string | undefined>>): string {
  const v = env.LGTM_DOCKER;
  return v === undefined || v.trim() === "" ? "docker" : v;
}

/**
 * Plan check: the docker executable exists and may be run (a path, or a name found on PATH), so a missing docker is
 * reported before any ECR repository is created. Throws PreconditionError (exit 5).
 */
export function requireDocker(env: Readonly<Record<string, string | undefined>>): string {
  const exe = dockerExecutable(env);
  const runnable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  const candidates = exe.includes("/") ? [exe] : (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "").map((d) => path.join(d, exe));
  const found = candidates.find(runnable);
  if (found === undefined) {
    throw new PreconditionError(`docker CLI not found: "${exe}" is not an executable${exe.includes("/") ? "" : " on PATH"}; install docker or set LGTM_DOCKER to the docker executable`);
  }
  return found;
}

/** The last lines of a stream, for error messages. */
export function tail(text: string, lines = STDERR_TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Runs docker and resolves with its exit code and output, whatever the exit code. Throws PreconditionError (exit 5)
 * when the executable cannot be started ("docker CLI not found").
 */
export async function runDocker(args: readonly string[], opts: DockerOptions): Promise<DockerResult> {
  const executable = dockerExecutable(opts.env);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, opts.extraEnv ?? {});
  const { execa } = await vendor();
  const child = execa(executable, [...args], {
    env,
    extendEnv: false,
    reject: false,
    stripFinalNewline: true,
    ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    ...(opts.signal === undefined ? {} : { cancelSignal: opts.signal }),
  });
  if (opts.onLine !== undefined) {
    const onLine = opts.onLine;
    for (const stream of [child.stdout, child.stderr]) {
      let pending = "";
      stream?.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
      stream?.on("end", () => {
        if (pending !== "") onLine(pending);
      });
    }
  }
  const result = await child;
  const cause = (result as { cause?: unknown }).cause as { code?: string } | undefined;
  const code = (result as { code?: string }).code ?? cause?.code;
  if (code === "ENOENT" || code === "EACCES") {
    throw new PreconditionError(
      `docker CLI not found: could not run "${executable}" (${code}); install docker or set LGTM_DOCKER to the docker executable`,
    );
  }
  if (result.exitCode === undefined) {
    throw new LgtmError(`docker ${args[0] ?? ""} did not finish: ${result.shortMessage ?? "terminated"}`, ExitCode.Unexpected);
  }
  return { exitCode: result.exitCode, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
}

/** Runs docker and throws (exit 1) with docker's exit code and the last lines of its stderr when it fails. */
export async function docker(args: readonly string[], opts: DockerOptions): Promise<DockerResult> {
  const result = await runDocker(args, opts);
  if (result.exitCode !== 0) throw dockerFailure(args[0] ?? "", result);
  return result;
}

export function dockerFailure(verb: string, result: DockerResult): LgtmError {
  const stderrTail = tail(result.stderr || result.stdout);
  return new LgtmError(
    `docker ${verb} failed with exit code ${result.exitCode}${stderrTail === "" ? "" : `; last lines of its output:\n${stderrTail}`}`,
    ExitCode.Unexpected,
  );
}
