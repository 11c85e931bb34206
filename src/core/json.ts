/**
 * Strict JSON for the files people edit (environments, templates, emulator scenarios): RFC 8259 syntax, a duplicate
 * key is an error (JSON.parse silently keeps the last one), and every error and every value has a line:column, so a
 * message can point at the spot. Values are built exactly as JSON.parse builds them (string and number tokens are
 * handed to JSON.parse). Pure: takes text, or bytes for decodeText.
 *
 * Encoding: UTF-8. A UTF-8 byte-order mark (Windows editors add one) is accepted and ignored, as RFC 8259 section
 * 8.1 allows; UTF-16 files and bytes that are not UTF-8 are rejected naming the encoding problem.
 */
import { InvalidInputError } from "./errors.js";

export interface Position {
  line: number;
  column: number;
}

export interface ParsedJson {
  value: unknown;
  /** Where the value at this path (object keys and array indexes) starts; undefined for a path not in the text. */
  positionOf(path: readonly PropertyKey[]): Position | undefined;
}

const key = (path: readonly PropertyKey[]): string => path.map(String).join("\u0000");

const BOM = "\uFEFF";

/** Bytes → text: UTF-8 (with or without a BOM); UTF-16 or invalid UTF-8 is an error naming the file. */
export function decodeText(bytes: Uint8Array, file: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new InvalidInputError(`${file}: the file is UTF-16 encoded; save it as UTF-8`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const text = new TextDecoder("utf-8").decode(bytes);
    const at = locate(text, text.indexOf("\uFFFD"));
    throw new InvalidInputError(`${file}: not valid UTF-8 at line ${at.line}, column ${at.column}; save the file as UTF-8`);
  }
}

function locate(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line += 1;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** What a character looks like in a message: invisible and control characters by their code point. */
function show(ch: string | undefined): string {
  if (ch === undefined) return "end of file";
  const code = ch.codePointAt(0)!;
  if (ch === BOM) return "byte-order mark (U+FEFF) inside the file";
  if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || (code >= 0x200b && code <= 0x200f) || code === 0x2028 || code === 0x2029 || code === 0x2060) {
    return `invisible character ${codePoint(ch)}`;
  }
  return `"${ch}"`;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERALS: ReadonlyArray<[string, unknown]> = [["true", true], ["false", false], ["null", null]];

/** Parses JSON text strictly. Errors are InvalidInputError "<file>: invalid JSON at line <l>, column <c>: <what>". */
export function parseJson(text: string, file: string): ParsedJson {
  const src = text.startsWith(BOM) ? text.slice(1) : text;
  const offsetBase = text.length - src.length;
  const positions = new Map<string, number>();
  let i = 0;

  const fail = (message: string, at = i): never => {
    const p = locate(text, at + offsetBase);
    throw new InvalidInputError(`${file}: invalid JSON at line ${p.line}, column ${p.column}: ${message}`);
  };
  const ws = (): void => {
    while (i < src.length && (src[i] === " " || src[i] === "\t" || src[i] === "\n" || src[i] === "\r")) i += 1;
  };
  const string = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(src);
    if (m === null) {
      // Find where the string goes wrong, for the message.
      let j = i + 1;
      while (j < src.length && src[j] !== '"' && src[j] !== "\n" && src.charCodeAt(j) >= 0x20) j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length || src[j] === "\n") fail("unterminated string", i);
      if (src.charCodeAt(j) < 0x20) fail(`control character ${codePoint(src[j]!)} inside a string (a tab or line break must be written \\t or \\n)`, j);
      fail("invalid escape sequence in string", i);
    }
    i += m![0].length;
    return JSON.parse(m![0]) as string;
  };
  const value = (path: PropertyKey[], depth: number): unknown => {
    ws();
    if (depth > 200) fail("nested too deeply");
    positions.set(key(path), i);
    const ch = src[i];
    if (ch === "{") return object(path, depth);
    if (ch === "[") return array(path, depth);
    if (ch === '"') return string();
    if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(src);
      if (m === null) fail(`invalid number`);
      i += m![0].length;
      return Number(m![0]);
    }
    for (const [word, v] of LITERALS) {
      if (src.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    if (ch === "'") fail("strings must use double quotes");
    return fail(ch === undefined ? "unexpected end of file: expected a value" : `unexpected ${show(ch)}: expected a value`);
  };
  const object = (path: PropertyKey[], depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    i += 1;
    ws();
    if (src[i] === "}") {
      i += 1;
      return out;
    }
    for (;;) {
      ws();
      if (src[i] !== '"') fail(src[i] === "}" ? "trailing comma before }" : `unexpected ${show(src[i])}: expected a key in double quotes`);
      const keyAt = i;
      const k = string();
      const first = seen.get(k);
      if (first !== undefined) {
        const p = locate(text, first + offsetBase);
        fail(`duplicate key ${JSON.stringify(k)}${path.length > 0 ? ` in ${describePath(path)}` : ""} (first at line ${p.line}, column ${p.column}); JSON keeps only one of them`, keyAt);
      }
      seen.set(k, keyAt);
      ws();
      if (src[i] !== ":") fail(`unexpected ${show(src[i])}: expected ":" after key ${JSON.stringify(k)}`);
      i += 1;
      // defineProperty: a key named __proto__ is data, as with JSON.parse.
      Object.defineProperty(out, k, { value: value([...path, k], depth + 1), enumerable: true, writable: true, configurable: true });
      ws();
      if (src[i] === ",") {
        i += 1;
        continue;
      }
      if (src[i] === "}") {
        i += 1;
        return out;
      }
      fail(`unexpected ${show(src[i])}: expected "," or "}"`);
    }
  };
  const array = (path: PropertyKey[], depth: number): unknown[] => {
    const out: unknown[] = [];
    i += 1;
    ws();
    if (src[i] === "]") {
      i += 1;
      return out;
    }
    for (;;) {
      ws();
      if (src[i] === "]") fail("trailing comma before ]");
      out.push(value([...path, out.length], depth + 1));
      ws();
      if (src[i] === ",") {
        i += 1;
        continue;
      }
      if (src[i] === "]") {
        i += 1;
        return out;
      }
      fail(`unexpected ${show(src[i])}: expected "," or "]"`);
    }
  };

  ws();
  if (i >= src.length) fail("the file is empty: expected a JSON value");
  const result = value([], 0);
  ws();
  if (i < src.length) fail(`unexpected ${show(src[i])} after the end of the JSON value`);
  return {
    value: result,
    positionOf: (path) => {
      const at = positions.get(key(path));
      return at === undefined ? undefined : locate(text, at + offsetBase);
    },
  };
}

/** ["network", "subnets", 1] → network.subnets[1] (the form every error message uses). */
export function describePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  return out === "" ? "(top level)" : out;
}
