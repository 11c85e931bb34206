/**
 * ECR lifecycle policies, evaluated on demand (ECR itself expires images "within 24 hours" of them matching, at a
 * time of its choosing): https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html and
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html. Expiring an image removes
 * it with every tag it has.
 */
import { arr, num, obj, str } from "../util.js";
import type { EcrState, Repo, StoredImage } from "./state.js";

interface Rule {
  priority: number;
  tagStatus: "tagged" | "untagged" | "any";
  prefixes: string[];
  patterns: RegExp[];
  countType: "imageCountMoreThan" | "sinceImagePushed";
  countNumber: number;
}

const wildcard = (p: string): RegExp => new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

function parseRules(text: string): Rule[] {
  const policy = obj(JSON.parse(text)) ?? {};
  return (arr(policy.rules) ?? [])
    .map((raw) => {
      const r = obj(raw) ?? {};
      const sel = obj(r.selection) ?? {};
      return {
        priority: num(r.rulePriority) ?? 0,
        tagStatus: (str(sel.tagStatus) ?? "any") as Rule["tagStatus"],
        prefixes: (arr(sel.tagPrefixList) ?? []).map(String),
        patterns: (arr(sel.tagPatternList) ?? []).map((p) => wildcard(String(p))),
        countType: (str(sel.countType) ?? "imageCountMoreThan") as Rule["countType"],
        countNumber: num(sel.countNumber) ?? 0,
      };
    })
    .sort((a, b) => a.priority - b.priority);
}

function selects(rule: Rule, tags: string[]): boolean {
  if (rule.tagStatus === "untagged") return tags.length === 0;
  if (rule.tagStatus === "any") return true;
  if (tags.length === 0) return false;
  if (rule.prefixes.length > 0 && !tags.some((t) => rule.prefixes.some((p) => t.startsWith(p)))) return false;
  if (rule.patterns.length > 0 && !tags.some((t) => rule.patterns.some((p) => p.test(t)))) return false;
  return true;
}

/** Evaluates the repository's lifecycle policy now; returns the digests it expired. Each image is judged by the first rule that selects it. */
export function applyLifecyclePolicy(ecr: EcrState, r: Repo, now: number): string[] {
  if (!r.lifecyclePolicy) return [];
  const rules = parseRules(r.lifecyclePolicy.text);
  const claimed = new Set<string>();
  const expired: string[] = [];
  const newestFirst = [...r.images.values()].sort((a, b) => b.pushedAt - a.pushedAt);
  for (const rule of rules) {
    const matched: StoredImage[] = newestFirst.filter((i) => !claimed.has(i.digest) && selects(rule, ecr.tagsOfDigest(r, i.digest)));
    for (const i of matched) claimed.add(i.digest);
    const doomed = rule.countType === "imageCountMoreThan" ? matched.slice(rule.countNumber) : matched.filter((i) => now - i.pushedAt > rule.countNumber * 86_400_000);
    for (const i of doomed) expired.push(i.digest);
  }
  for (const d of expired) ecr.expire(r, d);
  r.lifecyclePolicy.lastEvaluatedAt = now;
  return expired;
}
