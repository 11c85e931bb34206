/**
 * Strict JSON templates. A string that is exactly "{{name}}" is replaced by the value with its JSON type (array,
 * number, object); "{{name}}" inside a longer string is replaced by the value's text. A value of null removes the key
 * (optional settings such as healthCheckGracePeriodSeconds without a load balancer). Unknown names, names with no
 * value for this component/environment, and anything left looking like a placeholder are errors naming the file,
 * the JSON path and, when the template came from a file, the line and column.
 */
import { InvalidInputError } from "./errors.js";
import { describePath, parseJson, type Position } from "./json.js";

export type TemplateValue = string | number | boolean | null | readonly TemplateValue[] | { readonly [k: string]: TemplateValue };

/** Where a path of the template is in its file (from parseTemplateText). */
export type Locate = (path: readonly PropertyKey[]) => Position | undefined;

const WHOLE = /^\{\{\s*([A-Za-z][\w.]*)\s*\}\}$/;
const INLINE = /\{\{\s*([A-Za-z][\w.]*)\s*\}\}/g;
const LEFTOVER = /\{\{|\}\}/;

/** Strict JSON (duplicate keys are errors); returns the body and where each value is. */
export function parseTemplate(text: string, file: string): { body: unknown; locate: Locate } {
  const parsed = parseJson(text, file);
  return { body: parsed.value, locate: parsed.positionOf };
}

export function parseTemplateText(text: string, file: string): unknown {
  return parseTemplate(text, file).body;
}

export function renderTemplate(
  template: unknown,
  values: Readonly<Record<string, TemplateValue | undefined>>,
  vocabulary: ReadonlySet<string>,
  file: string,
  locate?: Locate,
): unknown {
  // "<file>: <message> (line 21, column 16; <hint>)": the position when the template came from a file.
  const fail = (path: readonly PropertyKey[], message: string, hint?: string): never => {
    const p = locate?.(path);
    const notes = [p ? `line ${p.line}, column ${p.column}` : undefined, hint].filter((n) => n !== undefined);
    throw new InvalidInputError(`${file}: ${message}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`);
  };
  const lookup = (name: string, path: readonly PropertyKey[]): TemplateValue => {
    const where = describePath(path);
    if (!vocabulary.has(name)) {
      const near = closest(name, vocabulary);
      fail(path, `unknown placeholder {{${name}}} at ${where}`, near ? `did you mean {{${near}}}?` : `known: ${[...vocabulary].sort().join(", ")}`);
    }
    const value = values[name];
    if (value === undefined) fail(path, `placeholder {{${name}}} at ${where} has no value for this component and environment`);
    return value!;
  };
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === "string") {
      const whole = WHOLE.exec(node);
      if (whole) return lookup(whole[1]!, path);
      const out = node.replace(INLINE, (_m, name: string) => {
        const value = lookup(name, path);
        if (value === null || typeof value === "object") fail(path, `placeholder {{${name}}} at ${describePath(path)} is a list/object and must be the whole value`);
        return String(value);
      });
      if (LEFTOVER.test(out)) fail(path, `unresolved placeholder in "${node}" at ${describePath(path)}`);
      return out;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        if (LEFTOVER.test(key)) fail([...path, key], `placeholders are not allowed in keys ("${key}" at ${describePath(path)})`);
        const rendered = walk(child, [...path, key]);
        if (rendered !== null) out[key] = rendered;
      }
      return out;
    }
    return node;
  };
  return walk(template, []);
}

/** The known name within two edits of a typo, if there is one (for "did you mean"). */
function closest(name: string, known: ReadonlySet<string>): string | undefined {
  const distance = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    return prev[b.length]!;
  };
  let best: [string, number] | undefined;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d <= 2 && (best === undefined || d < best[1])) best = [k, d];
  }
  return best?.[0];
}
