/**
 * `-config.expand-env=true` as each binary does it, on the file's text before YAML parsing. Pure.
 *
 * - Mimir: Go's os.Expand with its own mapping (cmd/mimir/main.go expandEnvironmentVariables): `${VAR}`, `$VAR`,
 *   `${VAR:default}` (the default also applies when VAR is empty). There is no escape: `$$` expands to nothing.
 * - Loki, Tempo, Pyroscope: drone/envsubst: `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `$$` is a `$`.
 * docker compose interpolation (`${VAR:-default}`, `${VAR-default}`, `$$`) is the envsubst form too.
 */
export type ExpandDialect = "mimir" | "envsubst";

type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function expandEnv(text: string, dialect: ExpandDialect, env: Env): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "$" || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1]!;
    if (next === "$") {
      out += dialect === "envsubst" ? "$" : "";
      i += 1;
      continue;
    }
    if (next === "{") {
      const end = text.indexOf("}", i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      out += braced(text.slice(i + 2, end), dialect, env);
      i = end;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (m) {
      out += env[m[0]] ?? "";
      i += m[0].length;
      continue;
    }
    out += dialect === "mimir" ? "" : "$";
    if (dialect === "mimir") i += 1; // os.Expand consumes one special character ($1, $*, ...)
  }
  return out;
}

function braced(inner: string, dialect: ExpandDialect, env: Env): string {
  if (dialect === "mimir") {
    const colon = inner.indexOf(":");
    const name = colon < 0 ? inner : inner.slice(0, colon);
    const value = env[name];
    if (colon >= 0 && (value === undefined || value === "")) return inner.slice(colon + 1);
    return value ?? "";
  }
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-=])(.*))?$/s.exec(inner);
  if (!m) return "";
  const value = env[m[1]!];
  if (m[3] === undefined) return value ?? "";
  const unsetOrEmpty = m[2] === ":" ? value === undefined || value === "" : value === undefined;
  return unsetOrEmpty ? m[4]! : value!;
}
