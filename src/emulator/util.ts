import { invalidParam } from "./errors.js";

/** Epoch seconds (with millisecond fraction), the JSON 1.1 timestamp format. */
export const sec = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** Offset pagination with an opaque token. */
export function paginate<T>(all: T[], maxResults: unknown, nextToken: unknown, defaultMax: number, limit = 100): Page<T> {
  let max = defaultMax;
  if (maxResults !== undefined && maxResults !== null) {
    if (typeof maxResults !== "number" || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) {
      throw invalidParam(`maxResults must be between 1 and ${limit}.`);
    }
    max = maxResults;
  }
  let offset = 0;
  if (typeof nextToken === "string" && nextToken !== "") {
    try {
      const parsed = JSON.parse(Buffer.from(nextToken, "base64").toString("utf8")) as { o?: unknown };
      if (typeof parsed.o !== "number" || parsed.o < 0) throw new Error("bad");
      offset = parsed.o;
    } catch {
      throw invalidParam("Invalid nextToken.");
    }
  }
  const items = all.slice(offset, offset + max);
  const next = offset + max < all.length ? Buffer.from(JSON.stringify({ o: offset + max })).toString("base64") : undefined;
  return next === undefined ? { items } : { items, nextToken: next };
}

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
export const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
export const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
export const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function requireString(input: Record<string, unknown>, field: string, make = invalidParam): string {
  const v = input[field];
  if (typeof v !== "string" || v === "") throw make(`${field} should not be null or empty.`);
  return v;
}

export interface Tag {
  key: string;
  value: string;
}
export function tagsOf(v: unknown): Tag[] {
  const list = arr(v) ?? [];
  return list.flatMap((t) => {
    const o = obj(t);
    const key = str(o?.key);
    return key === undefined ? [] : [{ key, value: str(o?.value) ?? "" }];
  });
}
