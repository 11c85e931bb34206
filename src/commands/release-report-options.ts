/**
 * `--log-lines` and `--annotate` of deploy and rollback: what the failure report and Grafana get from a release.
 * Both are checked in the plan, before any AWS call: a bad --log-lines, or --annotate without the environment's
 * grafana.annotations.url or without LGTM_GRAFANA_TOKEN, is one line naming it, exit 2, nothing changed.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { createAnnotator } from "../adapters/grafana.js";
import { annotationSettings } from "../core/annotation.js";
import type { Environment } from "../core/environment.js";
import { DEFAULT_LOG_LINES, MAX_LOG_LINES, parseLogLines } from "../core/logs.js";
import type { EngineOptions } from "../engine/driver.js";
import type { Io } from "./context.js";

export interface ReportFlags {
  logLines: number;
  annotate: boolean;
}

export function addReportOptions(cmd: Command): Command {
  const lines = (value: string): number => {
    try {
      return parseLogLines(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
  return cmd
    .addOption(new Option("--log-lines <n>", `last log lines of each failed container in the report and record, 0-${MAX_LOG_LINES} (0: off, no CloudWatch Logs call)`).default(DEFAULT_LOG_LINES).argParser(lines))
    .option("--annotate", "post a Grafana annotation per component (grafana.annotations.url of the environment, token in LGTM_GRAFANA_TOKEN), closed with the outcome", false);
}

/**
 * The engine options these flags add. Throws InvalidInputError (exit 2) for --annotate without its URL or token;
 * warnings from Grafana go to stderr as one line each (the token never appears in them).
 */
export function reportOptions(f: ReportFlags, env: Environment, io: Io): Pick<EngineOptions, "logLines" | "region" | "annotator"> {
  const settings = f.annotate ? annotationSettings(env, io.env) : undefined;
  return {
    logLines: f.logLines,
    region: env.region,
    ...(settings ? { annotator: createAnnotator({ ...settings, warn: (line) => io.err(`warning: ${line}`) }) } : {}),
  };
}
