/**
 * Every error an AWS call can end in, mapped to an exit code and one line that names the call, the resource and what
 * to do. createAwsClients (aws.ts) tags each failed call with what it was (service, operation, input, region,
 * endpoint, environment file), so the message can say "ECS cluster "lgtm" not found" instead of "Cluster not found.".
 * The CLI's top-level catch uses explainError; the engine may use mapAwsError for errors it handles itself.
 *
 * Exit codes: 2 when the request itself was wrong (fix the input), 5 when the world is not as needed (a missing
 * resource, access denied, credentials, AWS or the endpoint unreachable, throttled or failing). Table: README
 * "Errors" and docs/errors.md.
 */
import { ExitCode, LgtmError, type ExitCode as Code } from "../core/errors.js";

export interface AwsCall {
  service: "ECS" | "ECR" | string;
  operation: string;
  input: unknown;
  region: string;
  /** The endpoint override, when one is used (--endpoint-url, AWS_ENDPOINT_URL*). */
  endpoint?: string;
  /** The environment file the settings came from, for "check field X in <file>". */
  environmentFile?: string;
}

const CALL = Symbol.for("lgtm-deploy.awsCall");
const IAM_POLICY = "iam/jenkins-deploy-policy.json";
const MAX_AWS_MESSAGE = 300;

/** Remembers which call failed (used by the client middleware in aws.ts). */
export function tagAwsError(error: unknown, call: AwsCall): void {
  if (error !== null && typeof error === "object" && !(CALL in error)) {
    Object.defineProperty(error, CALL, { value: call, enumerable: false });
  }
}

export function awsCallOf(error: unknown): AwsCall | undefined {
  return error !== null && typeof error === "object" ? ((error as Record<symbol, AwsCall | undefined>)[CALL] ?? undefined) : undefined;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string };
  hostname?: string;
}

const clip = (text: string, max = MAX_AWS_MESSAGE): string => {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** The resource a call was about, from its input: cluster, service, task definition, repository, image. */
function resourceOf(call: AwsCall): string {
  const i = (call.input ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === "string" ? v : Array.isArray(v) ? v.filter((x) => typeof x === "string").join(", ") : undefined);
  const parts: string[] = [];
  const repository = s(i.repositoryName) ?? s(i.repositoryNames);
  if (repository) parts.push(`repository "${repository}"`);
  const tags = Array.isArray(i.imageIds) ? (i.imageIds as Array<{ imageTag?: string; imageDigest?: string }>).map((x) => x.imageTag ?? x.imageDigest).filter(Boolean) : [];
  if (tags.length > 0) parts.push(`image ${tags.join(", ")}`);
  const service = s(i.service) ?? s(i.services) ?? s(i.serviceName);
  if (service) parts.push(`service "${service}"`);
  if (s(i.taskDefinition)) parts.push(`task definition ${s(i.taskDefinition)}`);
  else if (s(i.family)) parts.push(`task definition family ${s(i.family)}`);
  if (s(i.cluster) ?? s(i.clusters)) parts.push(`cluster "${s(i.cluster) ?? s(i.clusters)}"`);
  return parts.join(" in ");
}

const named = (call: AwsCall, fallback: string): string => resourceOf(call) || fallback;

const where = (call: AwsCall): string => `${call.region}${call.endpoint ? ` at ${call.endpoint}` : ""}`;
const attempts = (e: SdkError): string => ((e.$metadata?.attempts ?? 1) > 1 ? ` after ${e.$metadata!.attempts} attempts` : "");
const action = (call: AwsCall): string => `${call.service.toLowerCase()}:${call.operation}`;

const NOT_FOUND: Record<string, (c: AwsCall, file: string) => string> = {
  ClusterNotFoundException: (c, file) => {
    const cluster = String((c.input as { cluster?: string; clusters?: string[] })?.cluster ?? (c.input as { clusters?: string[] })?.clusters?.[0] ?? "");
    return `ECS cluster "${cluster}" not found in ${where(c)} (${c.operation}): check "cluster" and "region" in ${file}, or create the cluster`;
  },
  ServiceNotFoundException: (c) => `ECS ${named(c, "service")} not found (${c.operation}): create it first (deploy --create-missing) or check the component`,
  ServiceNotActiveException: (c) => `ECS ${named(c, "service")} is not ACTIVE (${c.operation}): it is being deleted or was deleted; recreate it (deploy --create-missing)`,
  RepositoryNotFoundException: (c) => `ECR ${named(c, "repository")} not found in ${where(c)} (${c.operation}): build and push the image first (lgtm-deploy build <component> --push)`,
  ImageNotFoundException: (c) => `ECR ${named(c, "image")} not found (${c.operation}): build and push it first (lgtm-deploy build <component> --push)`,
  ResourceNotFoundException: (c) => `${c.service} ${c.operation}: ${named(c, "the resource")} was not found in ${where(c)}`,
  TargetNotConnectedException: (c) => `${c.service} ${c.operation}: the target is not connected`,
  LifecyclePolicyNotFoundException: (c) => `ECR ${named(c, "repository")} has no lifecycle policy (${c.operation})`,
};

const ACCESS = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|UnauthorizedException|Forbidden|NotAuthorized)$/;
const CREDENTIALS_EXPIRED = /^(ExpiredToken|ExpiredTokenException|RequestExpired|TokenRefreshRequired|InvalidToken)$/;
const CREDENTIALS_BAD = /^(UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch|IncompleteSignature|MissingAuthenticationToken|MissingAuthenticationTokenException|AuthFailure|InvalidAccessKeyId)$/;
const THROTTLED = /^(ThrottlingException|Throttling|ThrottledException|TooManyRequestsException|RequestLimitExceeded|RequestThrottled|RequestThrottledException|SlowDown|ProvisionedThroughputExceededException|BandwidthLimitExceeded)$/;
const BAD_REQUEST = /^(InvalidParameterException|InvalidParameterValueException|InvalidParameterCombination|ValidationException|ValidationError|SerializationException|PlatformUnknownException|PlatformTaskDefinitionIncompatibilityException|UnsupportedFeatureException|InvalidTagParameterException|TooManyTagsException|MissingParameter|InvalidLayerException|InvalidLayerPartException|ReferencedImagesNotFoundException|ImageDigestDoesNotMatchException)$/;
const CONFLICT = /^(UpdateInProgressException|ResourceInUseException|ConflictException|RepositoryAlreadyExistsException|ImageAlreadyExistsException|ImageTagAlreadyExistsException|RepositoryNotEmptyException|LimitExceededException|ServiceQuotaExceededException|KmsException|LayerAlreadyExistsException|LayersNotFoundException|NamespaceNotFoundException|AttributeLimitExceededException|BlockedException|NoUpdateAvailableException)$/;
const NETWORK: Record<string, string> = {
  ECONNREFUSED: "connection refused: nothing listens there (is the emulator running? is --endpoint-url right?)",
  ENOTFOUND: "the host name does not resolve (check --endpoint-url / AWS_ENDPOINT_URL and DNS)",
  EAI_AGAIN: "DNS lookup failed (temporary); check DNS and re-run",
  ECONNRESET: "the connection was dropped before an answer (network, proxy or firewall); re-run",
  EPIPE: "the connection was dropped while sending (network, proxy or firewall); re-run",
  EHOSTUNREACH: "the host is unreachable (network, VPC endpoint or proxy settings)",
  ENETUNREACH: "the network is unreachable (network, VPC endpoint or proxy settings)",
  ECONNABORTED: "the connection was aborted; re-run",
  EPROTO: "the TLS handshake failed: is it a plain http:// endpoint (the emulator is)?",
  ERR_SSL_WRONG_VERSION_NUMBER: "the TLS handshake failed: is it a plain http:// endpoint (the emulator is)?",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is self-signed (set NODE_EXTRA_CA_CERTS to trust it)",
  SELF_SIGNED_CERT_IN_CHAIN: "its TLS certificate chain is not trusted (a TLS-inspecting proxy? set NODE_EXTRA_CA_CERTS)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its TLS certificate cannot be verified (set NODE_EXTRA_CA_CERTS to the CA bundle)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its TLS certificate cannot be verified (set NODE_EXTRA_CA_CERTS to the CA bundle)",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "its TLS certificate does not match the host name",
};

function endpointText(call: AwsCall | undefined, e: SdkError): string {
  if (call?.endpoint) return call.endpoint;
  if (e.hostname) return e.hostname;
  return call ? `AWS ${call.service} in ${call.region}` : "the AWS endpoint";
}

/**
 * The exit code and one-line message for an error from an AWS SDK call, or undefined when it is not one (a bug or a
 * local problem). The returned LgtmError carries the original as `cause` (its stack is shown with --debug).
 */
export function mapAwsError(error: unknown): LgtmError | undefined {
  if (error === null || typeof error !== "object" || error instanceof LgtmError) return undefined;
  const e = error as SdkError;
  const call = awsCallOf(error);
  const name = e.name ?? "";
  if (call === undefined && e.$metadata === undefined && name !== "CredentialsProviderError") return undefined;
  const op = call ? `${call.service} ${call.operation}` : "an AWS call";
  const file = call?.environmentFile ?? "the environment file";
  const aws = clip(e.message ?? "");
  const status = e.$metadata?.httpStatusCode;
  const make = (code: Code, message: string) => new LgtmError(message, code, { cause: error });

  if (call && NOT_FOUND[name]) return make(ExitCode.Precondition, NOT_FOUND[name]!(call, file));
  if (ACCESS.test(name) || (name === "ClientException" && /not authori[sz]ed|access denied|permission/i.test(aws))) {
    return make(ExitCode.Precondition, `access denied: ${call ? action(call) : "an AWS action"}${call && resourceOf(call) ? ` on ${resourceOf(call)}` : ""} (${name}: ${aws}); the role running lgtm-deploy needs it: see ${IAM_POLICY}`);
  }
  if (CREDENTIALS_EXPIRED.test(name)) return make(ExitCode.Precondition, `the AWS credentials have expired (${op}: ${name}); get fresh ones (a new session or role assumption) and re-run`);
  if (CREDENTIALS_BAD.test(name)) {
    return make(ExitCode.Precondition, `AWS rejected the credentials for ${op} in ${call?.region ?? "this region"} (${name}: ${aws}); check AWS_ACCESS_KEY_ID/AWS_PROFILE and that the key belongs to this account and partition`);
  }
  if (name === "CredentialsProviderError") {
    return make(ExitCode.Precondition, `no AWS credentials found for ${op} (environment variables, AWS_PROFILE, container or instance role); bind the Jenkins AWS credentials or set AWS_PROFILE (a loopback --endpoint-url such as the emulator needs none)`);
  }
  if (THROTTLED.test(name)) {
    return make(ExitCode.Precondition, `AWS throttled ${op}${attempts(e)} and the SDK's retries ran out (${name}): wait a minute and re-run (AWS_MAX_ATTEMPTS raises the retries)`);
  }
  // The SDK names a dropped connection "TimeoutError" with code ECONNRESET: the code says what happened.
  if (e.code !== undefined && NETWORK[e.code] !== undefined) {
    return make(ExitCode.Precondition, `cannot reach ${endpointText(call, e)} for ${op}${attempts(e)}: ${NETWORK[e.code]}`);
  }
  if (name === "TimeoutError" || e.code === "ETIMEDOUT" || e.code === "ESOCKETTIMEDOUT") {
    return make(ExitCode.Precondition, `${op} to ${endpointText(call, e)} timed out${attempts(e)}: the network to AWS is slow or blocked (proxy, VPC endpoint, firewall); re-run when it answers`);
  }
  if (e.$fault === "server" || (status !== undefined && status >= 500)) {
    return make(ExitCode.Precondition, `AWS answered ${op} with a server error${status ? ` (HTTP ${status} ${name})` : ` (${name})`}${attempts(e)}: an AWS-side problem, not your input; re-run later (AWS Health Dashboard)`);
  }
  if (name === "UnknownOperationException" || name === "UnknownOperation" || (name === "SyntaxError" && status !== undefined)) {
    const answer = name === "SyntaxError" ? `HTTP ${status}, not an AWS JSON answer` : `HTTP ${status ?? "?"} ${name}`;
    return make(ExitCode.Precondition, `${endpointText(call, e)} did not answer ${op} like AWS ${call?.service ?? ""} does (${answer}): is the endpoint right?`);
  }
  if (name === "ClientException" || BAD_REQUEST.test(name)) {
    const about = call && resourceOf(call) ? ` for ${resourceOf(call)}` : "";
    return make(ExitCode.InvalidInput, `${op} rejected the request${about} (${name}: ${aws}); fix the template or environment value it names`);
  }
  if (CONFLICT.test(name)) return make(ExitCode.Precondition, `${op} refused${call && resourceOf(call) ? ` for ${resourceOf(call)}` : ""} (${name}: ${aws})`);
  // Any other answer from AWS: not a bug in lgtm-deploy, so not "unexpected error".
  return make(ExitCode.Precondition, `${op} failed${status ? ` (HTTP ${status} ${name})` : ` (${name || "error"})`}: ${aws}`);
}

const FS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the file name is too long",
};

/**
 * Any error → what the CLI prints and exits with. LgtmError as it is; AWS errors by mapAwsError; file-system errors
 * naming the path; everything else is a bug: exit 1 "unexpected error".
 */
export function explainError(error: unknown): { error: LgtmError; unexpected: boolean } {
  if (error instanceof LgtmError) return { error, unexpected: false };
  const aws = mapAwsError(error);
  if (aws) return { error: aws, unexpected: false };
  const sys = error as { code?: string; path?: string; syscall?: string } | null;
  if (sys && typeof sys.code === "string" && typeof sys.path === "string" && FS[sys.code] !== undefined) {
    const code = sys.code === "ENOSPC" || sys.code === "EDQUOT" || sys.code === "EMFILE" ? ExitCode.Precondition : ExitCode.InvalidInput;
    return { error: new LgtmError(`cannot ${sys.syscall ?? "use"} ${sys.path}: ${FS[sys.code]} (${sys.code})`, code, { cause: error }), unexpected: false };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { error: new LgtmError(`unexpected error: ${clip(text, 500)}`, ExitCode.Unexpected, { cause: error }), unexpected: true };
}
