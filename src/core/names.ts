/**
 * Short forms for a Jenkins console: `lgtm-loki:7` instead of the task definition ARN, 12-character digests and task
 * ids. Pure string functions; `--verbose` prints the full forms instead.
 */

const TD_ARN = /arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/([A-Za-z0-9_-]+:\d+)/g;
const TASK_ARN = /arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/[A-Za-z0-9_-]+\/([0-9a-f]{12})[0-9a-f]{20}/g;
const SD_ARN = /arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service-deployment\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/([A-Za-z0-9_-]+)/g;
const DIGEST = /sha256:([0-9a-f]{12})[0-9a-f]{52}/g;
const TASK_ID = /\b([0-9a-f]{12})[0-9a-f]{20}\b/g;

/** `arn:…:task-definition/lgtm-loki:7` → `lgtm-loki:7` (anything else unchanged). */
export function shortTd(arn: string | null | undefined): string {
  if (arn === null || arn === undefined || arn === "") return "(none)";
  return arn.replace(TD_ARN, "$1");
}

/** The revision number of a task definition ARN or `family:rev`, or undefined. */
export function revisionOf(arn: string | null | undefined): number | undefined {
  const m = /:(\d+)$/.exec(arn ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Shortens every ARN, digest and task id inside a message. */
export function shorten(text: string): string {
  return text.replace(TD_ARN, "$1").replace(TASK_ARN, "$1").replace(SD_ARN, "$1").replace(DIGEST, "sha256:$1").replace(TASK_ID, "$1");
}

/** Fits a line to `width` characters (an ellipsis marks the cut). */
export function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Wraps a line at spaces into lines of at most `width` characters; continuation lines are indented. */
export function wrap(text: string, width: number, indent = "    "): string[] {
  const lines: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    const room = first ? width : width - indent.length;
    if (rest.length <= room) {
      lines.push(first ? rest : indent + rest);
      break;
    }
    let cut = rest.lastIndexOf(" ", room);
    if (cut <= room / 2) cut = room;
    lines.push((first ? "" : indent) + rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return lines;
}

/** A duration for people: 150ms, 1.5s, 70s, 20m, 1h30m, 25h. */
export function seconds(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 || ms % 60_000 !== 0) return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms / 100) / 10}s`;
  const minutes = ms / 60_000;
  if (minutes < 60) return `${minutes}m`;
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
