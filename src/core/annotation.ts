/**
 * Grafana release annotations: what is sent (Grafana's legacy HTTP API, /api/annotations) and how --annotate is
 * configured. Pure: src/adapters/grafana.ts does the HTTP.
 *
 * An organisation annotation (no dashboardUID, no panelId) shows on every dashboard whose annotation query asks for
 * its tags: `lgtm-deploy`, the component, the environment, the version, and at the end the outcome.
 */
import type { Environment } from "./environment.js";
import { InvalidInputError } from "./errors.js";

/** The environment variable holding the Grafana service account token (Jenkins binds it from a credential). */
export const GRAFANA_TOKEN_ENV = "LGTM_GRAFANA_TOKEN";
export const ANNOTATION_TAG = "lgtm-deploy";

export type ReleaseOutcome = "released" | "rolled-back" | "failed";

export interface ReleaseInfo {
  component: string;
  environment: string;
  /** SemVer of the image; null for a rollback to a bare task definition. */
  version: string | null;
  tag: string | null;
  digest?: string | null;
  /** The annotation's text, e.g. "deploy loki 3.2.0 (3.2.0_g0badc0ffee00) to prod by <BUILD_URL>". */
  text: string;
}

/** POST /api/annotations body. No dashboardUID/panelId: an organisation annotation. */
export interface CreateAnnotationBody {
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  data: Record<string, string>;
}

/** PATCH /api/annotations/:id body (Grafana patches text, tags, time and timeEnd; tags are replaced). */
export interface PatchAnnotationBody {
  timeEnd: number;
  tags: string[];
  text: string;
}

/** The ReleaseInfo of one component's deploy or rollback, with a text that says what, where and who. */
export function releaseInfo(o: {
  command: "deploy" | "rollback";
  component: string;
  environment: string;
  version: string | null;
  tag: string | null;
  digest?: string | null;
  /** BUILD_URL (Jenkins) or USER. */
  triggeredBy?: string | null;
  /** rollback --reason */
  reason?: string | null;
}): ReleaseInfo {
  const what = o.version ? `${o.version}${o.tag ? ` (${o.tag})` : ""}` : (o.tag ?? "a task definition");
  const lines = [`lgtm-deploy ${o.command} ${o.component} ${what} to ${o.environment}`];
  if (o.triggeredBy) lines.push(`by ${o.triggeredBy}`);
  if (o.reason) lines.push(`reason: ${o.reason}`);
  return { component: o.component, environment: o.environment, version: o.version, tag: o.tag, ...(o.digest ? { digest: o.digest } : {}), text: lines.join("\n") };
}

export function releaseTags(info: ReleaseInfo, outcome?: ReleaseOutcome): string[] {
  const tags = [ANNOTATION_TAG, info.component, info.environment, ...(info.version ? [info.version] : []), ...(outcome ? [outcome] : [])];
  return [...new Set(tags)];
}

const outcomeText = (info: ReleaseInfo, outcome: ReleaseOutcome) => `${info.text}\nOutcome: ${outcome}`;

function data(info: ReleaseInfo): Record<string, string> {
  const d: Record<string, string> = { tool: "lgtm-deploy", component: info.component, environment: info.environment };
  if (info.version) d.version = info.version;
  if (info.tag) d.tag = info.tag;
  if (info.digest) d.digest = info.digest;
  return d;
}

export function startBody(info: ReleaseInfo, time: number): CreateAnnotationBody {
  return { time: Math.round(time), tags: releaseTags(info), text: info.text, data: data(info) };
}

export function finishBody(info: ReleaseInfo, outcome: ReleaseOutcome, timeEnd: number): PatchAnnotationBody {
  return { timeEnd: Math.round(timeEnd), tags: releaseTags(info, outcome), text: outcomeText(info, outcome) };
}

/** A whole release in one POST: used when the start could not be posted earlier (deferred, or Grafana was down). */
export function regionBody(info: ReleaseInfo, time: number, outcome: ReleaseOutcome, timeEnd: number): CreateAnnotationBody {
  return { ...startBody(info, time), timeEnd: Math.max(Math.round(timeEnd), Math.round(time)), tags: releaseTags(info, outcome), text: outcomeText(info, outcome) };
}

export interface AnnotationSettings {
  /** Grafana's base URL without a trailing slash. */
  url: string;
  token: string;
}

/**
 * What --annotate needs, checked before anything changes: the environment's grafana.annotations.url and a token in
 * LGTM_GRAFANA_TOKEN. Throws InvalidInputError (exit 2) naming the file, field or variable; never echoes the token.
 */
export function annotationSettings(env: Pick<Environment, "file" | "grafana">, vars: Readonly<Record<string, string | undefined>>): AnnotationSettings {
  const url = env.grafana.annotations?.url;
  if (url === undefined) throw new InvalidInputError(`--annotate: ${env.file} has no field "grafana.annotations.url" (Grafana's base URL, e.g. https://grafana.example.com)`);
  const token = vars[GRAFANA_TOKEN_ENV];
  if (token === undefined || token.trim() === "") {
    throw new InvalidInputError(`--annotate: set ${GRAFANA_TOKEN_ENV} to a Grafana service account token with annotations:create and annotations:write (Jenkins: lgtmDeploy grafanaCredentialsId)`);
  }
  if (!/^[\x21-\x7e]+$/.test(token.trim())) throw new InvalidInputError(`--annotate: ${GRAFANA_TOKEN_ENV} must be a single token of printable ASCII characters`);
  return { url: url.replace(/\/+$/, ""), token: token.trim() };
}
