/**
 * ECR operations for builds and releases, through the ECRClient from createAwsClients (src/adapters/aws.ts).
 */
import type {
  ECRClient,
  ImageDetail,
  Repository,
} from "@aws-sdk/client-ecr";
import { ecrSdk } from "./sdk.js";
import { decodeAuthorizationToken, lifecyclePolicyText } from "../core/build.js";
import { PreconditionError } from "../core/errors.js";

const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? "";

export interface RepositorySettings {
  repositoryName: string;
  /** Lifecycle policy: keep this many images (environment ecr.keepImages). */
  keepImages: number;
  tags?: Record<string, string>;
}

export interface EnsuredRepository {
  repository: Repository;
  created: boolean;
}

/** The repository, or undefined when it does not exist. Read-only. */
export async function describeRepository(ecr: ECRClient, repositoryName: string): Promise<Repository | undefined> {
  const { DescribeRepositoriesCommand } = await ecrSdk();
  try {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
    return out.repositories?.[0];
  } catch (error) {
    if (errorName(error) === "RepositoryNotFoundException") return undefined;
    throw error;
  }
}

/**
 * Makes sure the repository exists. A new one is created with immutable tags, scan on push and AES256 encryption,
 * and gets the lifecycle policy keeping the newest `keepImages` images. An existing repository is left as it is.
 */
export async function ensureRepository(ecr: ECRClient, settings: RepositorySettings): Promise<EnsuredRepository> {
  const { CreateRepositoryCommand, PutLifecyclePolicyCommand } = await ecrSdk();
  const existing = await describeRepository(ecr, settings.repositoryName);
  if (existing !== undefined) return { repository: existing, created: false };
  let repository: Repository | undefined;
  try {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: settings.repositoryName,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: "AES256" },
        tags: Object.entries(settings.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    repository = out.repository;
  } catch (error) {
    // Another pipeline created it between our describe and create: use theirs.
    if (errorName(error) !== "RepositoryAlreadyExistsException") throw error;
    const raced = await describeRepository(ecr, settings.repositoryName);
    if (raced === undefined) throw error;
    return { repository: raced, created: false };
  }
  await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: settings.repositoryName, lifecyclePolicyText: lifecyclePolicyText(settings.keepImages) }));
  return { repository: repository ?? { repositoryName: settings.repositoryName }, created: true };
}

/**
 * The image with this tag, or undefined when the tag (or the repository) does not exist. Read-only; the deploy
 * engine uses it to pin task definitions to the digest.
 */
export async function describeImage(ecr: ECRClient, repositoryName: string, imageTag: string): Promise<ImageDetail | undefined> {
  const { DescribeImagesCommand } = await ecrSdk();
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag }] }));
    return out.imageDetails?.find((d) => d.imageTags?.includes(imageTag)) ?? out.imageDetails?.[0];
  } catch (error) {
    const name = errorName(error);
    if (name === "ImageNotFoundException" || name === "RepositoryNotFoundException") return undefined;
    throw error;
  }
}

export interface RegistryLogin {
  username: string;
  /** Secret: pass to docker on stdin only, never log. */
  password: string;
  proxyEndpoint?: string;
  expiresAt?: Date;
}

/** GetAuthorizationToken, decoded. Any failure is a PreconditionError (exit 5): nothing was built or pushed. */
export async function getRegistryLogin(ecr: ECRClient): Promise<RegistryLogin> {
  const { GetAuthorizationTokenCommand } = await ecrSdk();
  let data;
  try {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    data = out.authorizationData?.[0];
  } catch (error) {
    throw new PreconditionError(`ECR authentication failed (GetAuthorizationToken): ${errorName(error) || "error"}: ${(error as Error).message}`);
  }
  if (data?.authorizationToken === undefined) throw new PreconditionError("ECR authentication failed: GetAuthorizationToken returned no token");
  let decoded: { username: string; password: string };
  try {
    decoded = decodeAuthorizationToken(data.authorizationToken);
  } catch (error) {
    throw new PreconditionError(`ECR authentication failed: ${(error as Error).message}`);
  }
  return { ...decoded, ...(data.proxyEndpoint ? { proxyEndpoint: data.proxyEndpoint } : {}), ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}) };
}
