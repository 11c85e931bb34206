/** src/core/json.ts: strict JSON with duplicate keys rejected and positions, against JSON.parse as the oracle. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeText, parseJson } from "../src/core/json.js";
import { InvalidInputError } from "../src/core/errors.js";

const error = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidInputError, String(e));
    return e.message;
  }
  assert.fail("expected an error");
};

describe("parseJson", () => {
  test("any JSON value parses to exactly what JSON.parse gives (compact and indented)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, "\t"), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.deepEqual(parseJson(text, "f.json").value, JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test("any text JSON.parse rejects is rejected too, with a line:column inside the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        let ok = true;
        try {
          JSON.parse(text);
        } catch {
          ok = false;
        }
        if (ok) return; // valid JSON (e.g. "1"): covered above
        if (text.startsWith("\uFEFF")) return; // accepted BOM: covered below
        const m = /^f\.json: invalid JSON at line (\d+), column (\d+): /.exec(error(() => parseJson(text, "f.json")));
        assert.ok(m, text);
        const lines = text.split("\n");
        assert.ok(Number(m[1]) <= lines.length, `line within the text: ${JSON.stringify(text)}`);
      }),
      { numRuns: 500 },
    );
  });

  test("a duplicate key anywhere is an error naming the key, both positions and the parent", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 5 }), fc.nat(), (obj, pick) => {
        const keys = Object.keys(obj);
        const dup = keys[pick % keys.length]!;
        const text = `{"outer": {${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(obj[k])}`).join(", ")}, ${JSON.stringify(dup)}: 1}}`;
        const msg = error(() => parseJson(text, "d.json"));
        assert.ok(msg.includes(`duplicate key ${JSON.stringify(dup)} in outer (first at line 1, column`), msg);
      }),
      { numRuns: 200 },
    );
  });

  test("positions: every value of a pretty-printed file is found where it is", () => {
    const text = '{\n  "a": 1,\n  "list": [\n    {"name": "x"},\n    true\n  ]\n}\n';
    const p = parseJson(text, "p.json");
    assert.deepEqual(p.positionOf(["a"]), { line: 2, column: 8 });
    assert.deepEqual(p.positionOf(["list", 0, "name"]), { line: 4, column: 14 });
    assert.deepEqual(p.positionOf(["list", 1]), { line: 5, column: 5 });
    assert.equal(p.positionOf(["missing"]), undefined);
  });

  test("__proto__ is plain data, as with JSON.parse", () => {
    const v = parseJson('{"__proto__": {"polluted": true}}', "x.json").value as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
  });

  const cases: Array<[string, string, RegExp]> = [
    ["trailing comma in an object", '{"a": 1,\n}', /^t: invalid JSON at line 2, column 1: trailing comma before \}/],
    ["trailing comma in a list", "[1, 2, ]", /^t: invalid JSON at line 1, column 8: trailing comma before \]/],
    ["single quotes", "{'a': 1}", /^t: invalid JSON at line 1, column 2: unexpected "'": expected a key in double quotes/],
    ["a comment", "{} // done", /^t: invalid JSON at line 1, column 4: unexpected "\/" after the end/],
    ["an unterminated string", '{"a": "b\n}', /^t: invalid JSON at line 1, column 7: unterminated string/],
    ["a raw tab inside a string", '{"a": "b\tc"}', /^t: invalid JSON at line 1, column 9: control character U\+0009 inside a string/],
    ["a bad escape", '{"a": "\\x"}', /^t: invalid JSON at line 1, column 7: invalid escape sequence/],
    ["a leading zero", "[01]", /^t: invalid JSON at line 1, column 3: unexpected "1": expected "," or "\]"/],
    ["NaN", "[NaN]", /^t: invalid JSON at line 1, column 2: unexpected "N": expected a value/],
    ["an empty file", "", /^t: invalid JSON at line 1, column 1: the file is empty/],
    ["a non-breaking space", '{\u00a0"a": 1}', /^t: invalid JSON at line 1, column 2: unexpected invisible character U\+00A0/],
    ["a BOM in the middle", '{"a": 1}\uFEFF', /^t: invalid JSON at line 1, column 9: unexpected byte-order mark \(U\+FEFF\) inside the file after the end/],
    ["deep nesting", "[".repeat(300), /nested too deeply/],
  ];
  for (const [name, text, message] of cases) test(`rejects ${name} with its position`, () => assert.match(error(() => parseJson(text, "t")), message));

  test("a leading UTF-8 BOM is accepted and positions still count from the first line", () => {
    const p = parseJson('\uFEFF{\n  "a": 1\n}', "b.json");
    assert.deepEqual(p.value, { a: 1 });
    assert.deepEqual(p.positionOf(["a"]), { line: 2, column: 8 });
  });
});

describe("decodeText", () => {
  test("UTF-8 with and without a BOM", () => {
    assert.equal(decodeText(Buffer.from('{"a":"é"}'), "f"), '{"a":"é"}');
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("{}")]), "f"), "{}");
  });
  test("UTF-16 (both byte orders) and invalid UTF-8 are named", () => {
    assert.match(error(() => decodeText(Buffer.from("\uFEFF{}", "utf16le"), "u.json")), /^u\.json: the file is UTF-16 encoded; save it as UTF-8$/);
    assert.match(error(() => decodeText(Buffer.from([0xfe, 0xff, 0, 0x7b]), "u.json")), /UTF-16/);
    assert.match(error(() => decodeText(Buffer.from([0x7b, 0x0a, 0x22, 0xff, 0x22]), "l.json")), /^l\.json: not valid UTF-8 at line 2, column 2/);
  });
});
