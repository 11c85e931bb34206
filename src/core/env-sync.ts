/**
 * `env sync`, the pure part: read `aws cloudformation describe-stacks` output, pick the environment's stack, map its
 * outputs onto the environment's "outputs" section (src/core/stack-outputs.ts) and splice that section into the
 * file's text, leaving every input byte as it was.
 */
import * as z from "zod/mini";
import { routedComponents, stackName, type Environment } from "./environment.js";
import { InvalidInputError, PreconditionError } from "./errors.js";
import { outputsFromValues, stackOutputs } from "./stack-outputs.js";

// AWS adds members over time: read what we need, ignore the rest (z.object, not strictObject).
const describeStacksSchema = z.object({
  Stacks: z.array(
    z.object({
      StackName: z.string(),
      StackId: z.optional(z.string()),
      StackStatus: z.string(),
      StackStatusReason: z.optional(z.nullable(z.string())),
      CreationTime: z.string(),
      LastUpdatedTime: z.optional(z.string()),
      Outputs: z.optional(z.array(z.object({ OutputKey: z.string(), OutputValue: z.string() }))),
    }),
  ),
});
type Stack = z.infer<typeof describeStacksSchema>["Stacks"][number];

/** Statuses whose outputs describe resources that exist. */
const SETTLED = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"]);
const ROLLED_BACK = new Set(["UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"]);

export interface SyncResult {
  stack: { name: string; id: string; status: string; lastUpdated: string };
  outputs: Record<string, unknown>;
  warnings: string[];
}

/** Parses describe-stacks JSON (the whole document, as `aws cloudformation describe-stacks` prints it). */
export function parseDescribeStacks(text: string, file: string): Stack[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const parsed = z.safeParse(describeStacksSchema, raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new InvalidInputError(`${file}: not the output of "aws cloudformation describe-stacks --output json" (field "${first.path.join(".")}": ${first.message})`);
  }
  return parsed.data.Stacks;
}

/** The new "outputs" section from the environment's stack in `stacks`. Throws naming the file and what is wrong. */
export function syncOutputs(env: Environment, stacks: Stack[], file: string): SyncResult {
  const name = stackName(env);
  const stack = stacks.find((s) => s.StackName === name);
  if (stack === undefined) {
    const found = stacks.map((s) => s.StackName).join(", ") || "none";
    throw new InvalidInputError(`${file}: no stack "${name}" (found: ${found}); run: aws cloudformation describe-stacks --stack-name ${name}`);
  }
  const id = stack.StackId ?? "";
  const [, , , region, account] = id.split(":");
  if (region !== env.region || account !== env.account) {
    throw new InvalidInputError(`${file}: stack "${name}" is in account ${account ?? "?"} region ${region ?? "?"}, but ${env.file} says account ${env.account} region ${env.region}`);
  }
  if (!SETTLED.has(stack.StackStatus)) {
    throw new PreconditionError(`${file}: stack "${name}" is ${stack.StackStatus}${stack.StackStatusReason ? ` (${stack.StackStatusReason})` : ""}: its outputs are not final; wait for the stack operation (or fix it) and describe it again`);
  }
  const warnings: string[] = [];
  if (ROLLED_BACK.has(stack.StackStatus)) warnings.push(`stack "${name}" is ${stack.StackStatus}: the last update was rolled back, so these are the outputs of the previous template`);
  const specs = stackOutputs(routedComponents(env));
  const values = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const missing = specs.filter((s) => !values.has(s.key)).map((s) => s.key);
  if (missing.length > 0) {
    throw new PreconditionError(
      `${file}: stack "${name}" has no output(s) ${missing.join(", ")}: the deployed stack is older than infra/ or routes other components than ${env.file}; deploy it again (npm run deploy -w infra -- -c env=${env.name}) and describe it again`,
    );
  }
  const known = new Set(specs.map((s) => s.key));
  const extra = [...values.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) warnings.push(`stack "${name}" has output(s) lgtm-deploy does not use: ${extra.join(", ")}`);
  const lastUpdated = stack.LastUpdatedTime ?? stack.CreationTime;
  const outputs = { source: { stackName: name, stackId: id, lastUpdated }, ...outputsFromValues(specs, values) };
  return { stack: { name, id, status: stack.StackStatus, lastUpdated }, outputs, warnings };
}

/** Character range of the top-level member `key`'s value in a JSON object text (the last one, like JSON.parse). */
function memberValueRange(text: string, key: string): { keyStart: number; start: number; end: number } | undefined {
  // The scanner below trusts the syntax: invalid JSON is the parser's to report.
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
  };
  const skipValue = (): void => {
    const ch = text[i];
    if (ch === '"') return skipString();
    if (ch === "{" || ch === "[") {
      const close = ch === "{" ? "}" : "]";
      i++;
      ws();
      while (text[i] !== close) {
        skipValue(); // a key or an element
        ws();
        if (text[i] === ":") {
          i++;
          ws();
          skipValue();
          ws();
        }
        if (text[i] === ",") i++;
        ws();
      }
      i++;
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++; // number, true, false, null
  };
  ws();
  if (text[i] !== "{") return undefined;
  i++;
  let found: { keyStart: number; start: number; end: number } | undefined;
  ws();
  while (i < text.length && text[i] !== "}") {
    const keyStart = i;
    skipString();
    const name = JSON.parse(text.slice(keyStart, i)) as string;
    ws();
    i++; // colon
    ws();
    const start = i;
    skipValue();
    if (name === key) found = { keyStart, start, end: i };
    ws();
    if (text[i] === ",") i++;
    ws();
  }
  return found;
}

/**
 * The file text with its top-level "outputs" replaced by (or, when absent, appended as) `outputs`. Inputs keep
 * their formatting byte for byte: only the outputs section changes. `text` must be valid JSON (already parsed).
 */
export function spliceOutputs(text: string, outputs: unknown): string {
  const value = JSON.stringify(outputs, null, 2).replace(/\n/g, "\n  ");
  const range = memberValueRange(text, "outputs");
  if (range !== undefined) return `${text.slice(0, range.start)}${value}${text.slice(range.end)}`;
  const close = text.lastIndexOf("}");
  let last = close - 1;
  while (last >= 0 && /\s/.test(text[last]!)) last--;
  const empty = text[last] === "{";
  return `${text.slice(0, last + 1)}${empty ? "" : ","}\n  "outputs": ${value}\n${text.slice(close)}`;
}

/** The text without its "outputs" member: the inputs alone, parsed before syncing so stale outputs never block a sync. */
export function withoutOutputs(text: string): string {
  const range = memberValueRange(text, "outputs");
  if (range === undefined) return text;
  const before = text.slice(0, range.keyStart).replace(/,\s*$/, "");
  const after = text.slice(range.end).replace(/^\s*,/, before.trimEnd().endsWith("{") ? "" : ",");
  return `${before}${after}`;
}
