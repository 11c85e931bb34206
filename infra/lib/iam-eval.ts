/**
 * A small IAM policy evaluator: enough of the documented evaluation logic to answer "may this principal do X on Y"
 * for the policies this stack writes (Allow/Deny, Action/Resource wildcards, the condition operators used here).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * Anything it does not model (NotAction, NotResource, other operators, IfExists) throws instead of guessing.
 */
export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  [other: string]: unknown;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM wildcards: * any run of characters, ? one character. */
function wildcard(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, caseInsensitive ? "i" : "").test(value);
}

function conditionHolds(condition: Statement["Condition"], context: Readonly<Record<string, string>>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const values = list(expected);
      let ok: boolean;
      // ArnEquals and ArnLike both take wildcards in every ARN component (IAM condition operators reference).
      if (operator === "StringEquals") ok = values.includes(actual);
      else if (operator === "StringLike" || operator === "ArnLike" || operator === "ArnEquals") ok = values.some((v) => wildcard(v, actual, false));
      else throw new Error(`iam-eval: condition operator ${operator} is not modelled`);
      if (!ok) return false;
    }
  }
  return true;
}

function matches(s: Statement, action: string, resource: string, context: Readonly<Record<string, string>>): boolean {
  for (const unsupported of ["NotAction", "NotResource", "NotPrincipal"]) if (unsupported in s) throw new Error(`iam-eval: ${unsupported} is not modelled`);
  return (
    list(s.Action).some((a) => wildcard(a, action, true)) &&
    list(s.Resource).some((r) => wildcard(r, resource, false)) &&
    conditionHolds(s.Condition, context)
  );
}

/** True when some statement allows the request and none denies it (identity policies of one principal). */
export function allows(statements: readonly Statement[], action: string, resource: string, context: Readonly<Record<string, string>> = {}): boolean {
  if (statements.some((s) => s.Effect === "Deny" && matches(s, action, resource, context))) return false;
  return statements.some((s) => s.Effect === "Allow" && matches(s, action, resource, context));
}
