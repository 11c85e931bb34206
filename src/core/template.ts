/**
 * Strict JSON templates. A string that is exactly "{{name}}" is replaced by the value with its JSON type (array,
 * number, object); "{{name}}" inside a longer string is replaced by the value's text. A value of null removes the key
 * (optional settings such as healthCheckGracePeriodSeconds without a load balancer). Unknown names, names with no
 * value for this component/environment, and anything left looking like a placeholder are errors naming the file.
 */
import { InvalidInputError } from "./errors.js";

export type TemplateValue = string | number | boolean | null | readonly TemplateValue[] | { readonly [k: string]: TemplateValue };

const WHOLE = /^\{\{\s*([A-Za-z][\w.]*)\s*\}\}$/;
const INLINE = /\{\{\s*([A-Za-z][\w.]*)\s*\}\}/g;
const LEFTOVER = /\{\{|\}\}/;

export function parseTemplateText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
}

export function renderTemplate(
  template: unknown,
  values: Readonly<Record<string, TemplateValue | undefined>>,
  vocabulary: ReadonlySet<string>,
  file: string,
): unknown {
  const lookup = (name: string, where: string): TemplateValue => {
    if (!vocabulary.has(name)) {
      throw new InvalidInputError(`${file}: unknown placeholder {{${name}}} at ${where} (known: ${[...vocabulary].sort().join(", ")})`);
    }
    const value = values[name];
    if (value === undefined) throw new InvalidInputError(`${file}: placeholder {{${name}}} at ${where} has no value for this component and environment`);
    return value;
  };
  const walk = (node: unknown, where: string): unknown => {
    if (typeof node === "string") {
      const whole = WHOLE.exec(node);
      if (whole) return lookup(whole[1]!, where);
      const out = node.replace(INLINE, (_m, name: string) => {
        const value = lookup(name, where);
        if (value === null || typeof value === "object") {
          throw new InvalidInputError(`${file}: placeholder {{${name}}} at ${where} is a list/object and must be the whole value`);
        }
        return String(value);
      });
      if (LEFTOVER.test(out)) throw new InvalidInputError(`${file}: unresolved placeholder in "${node}" at ${where}`);
      return out;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${where}[${i}]`));
    if (node !== null && typeof node === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        if (LEFTOVER.test(key)) throw new InvalidInputError(`${file}: placeholders are not allowed in keys ("${key}" at ${where})`);
        const rendered = walk(child, where === "" ? key : `${where}.${key}`);
        if (rendered !== null) out[key] = rendered;
      }
      return out;
    }
    return node;
  };
  return walk(template, "");
}
