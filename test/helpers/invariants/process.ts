/**
 * The committed bundle as a real process in its own process group (as Jenkins' durable-task `sh` step runs it),
 * with a Jenkins-style abort: SIGTERM to the group, then SIGKILL to the group if it is still alive after the
 * soft-kill wait.
 *
 * Jenkins' timing (read from the sources): aborting an `sh` step calls the durable-task controller's stop(), which
 * kills the processes carrying the step's JENKINS_SERVER_COOKIE through hudson.util.ProcessTree: SIGTERM to each
 * process of the tree, then a wait of `SoftKillWaitSeconds` (default 5 s, JENKINS-17116) for it to exit before
 * the hard kill (jenkinsci/jenkins core/src/main/java/hudson/util/ProcessTree.java; jenkinsci/durable-task-plugin
 * FileMonitoringTask.stop). The step itself gives up after 10 s ("After 10s process did not stop",
 * workflow-durable-task-step DurableTaskStep.stop). A Kubernetes or Docker agent sends SIGKILL after its own
 * grace period. So whatever the helper must do on an abort has to be done within 5 s of SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { BUNDLE, REPO_ROOT } from "../cli.js";
import { readRecord } from "./run.js";

export const JENKINS_SOFT_KILL_MS = 5_000;

export interface ToolProcess {
  child: ChildProcess;
  startedAt: number;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Signal the whole process group (negative pid), as Jenkins' process-tree kill reaches every process of the step. */
  signalGroup(sig: NodeJS.Signals): number;
  alive(): boolean;
}

export function spawnTool(args: string[], env: Record<string, string> = {}): ToolProcess {
  const child = spawn(process.execPath, [BUNDLE, ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return {
    child,
    startedAt: Date.now(),
    out: () => out,
    err: () => err,
    exited,
    signalGroup: (sig) => {
      const at = Date.now();
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
      return at;
    },
    alive: () => !done,
  };
}

export interface JenkinsAbort {
  termAt: number;
  /** When the process exited (by itself or by the SIGKILL). */
  exitAt: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  /** When the record at the path first changed after SIGTERM (mtime) and was this run's; undefined if never. */
  recordAt?: number;
  /** Whether the process was still running when the second SIGTERM was sent (else that test proved nothing). */
  aliveAtSecondTerm?: boolean;
  /** A read of the record file found it half-written (not replaced atomically). */
  torn: boolean;
}

/**
 * SIGTERM to the group, SIGKILL to the group after `softKillMs` if still alive; meanwhile watch the record file.
 * `secondTermAfterMs` sends a second SIGTERM (an impatient operator pressing abort twice).
 */
export async function jenkinsAbort(p: ToolProcess, recordFile: string, runStartedAt: number, opts: { softKillMs?: number; secondTermAfterMs?: number } = {}): Promise<JenkinsAbort> {
  const termAt = p.signalGroup("SIGTERM");
  let recordAt: number | undefined;
  let torn = false;
  const watch = setInterval(() => {
    try {
      const m = statSync(recordFile).mtimeMs;
      const rec = readRecord(recordFile);
      if (rec?.unreadable !== undefined) torn = true;
      if (recordAt !== undefined) return;
      if (m >= termAt - 5 && rec && Date.parse(rec.startedAt) >= runStartedAt - 2_000) recordAt = Date.now();
    } catch {
      /* not there yet */
    }
  }, 20);
  let aliveAtSecondTerm: boolean | undefined;
  const second =
    opts.secondTermAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          aliveAtSecondTerm = p.alive();
          p.signalGroup("SIGTERM");
        }, opts.secondTermAfterMs);
  let killed = false;
  const timer = setTimeout(() => {
    if (p.alive()) {
      killed = true;
      p.signalGroup("SIGKILL");
    }
  }, opts.softKillMs ?? JENKINS_SOFT_KILL_MS);
  const e = await p.exited;
  clearTimeout(timer);
  clearTimeout(second);
  await new Promise((r) => setTimeout(r, 40));
  clearInterval(watch);
  return { termAt, exitAt: e.at, code: e.code, signal: e.signal, killed, recordAt, aliveAtSecondTerm, torn };
}
