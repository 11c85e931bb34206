/** Runs the CLI: in-process (fast, same code) or the committed bundle as a real process. */
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BUNDLE = path.join(REPO_ROOT, "resources", "lgtm", "lgtm-deploy.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { env?: Record<string, string | undefined>; signal?: AbortSignal } = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { ...process.env, ...opts.env },
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

export async function runBundle(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BUNDLE, ...args], {
    reject: false,
    cwd: opts.cwd ?? REPO_ROOT,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", NO_COLOR: "1", ...opts.env },
  });
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}
