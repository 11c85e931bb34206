/** Which scenario image behaviour applies to a container image (docs/emulator.md, "images"). */
import type { ImageBehavior } from "./scenario.js";

/**
 * Tried in order: the exact reference; the reference without its registry host; the tag alone; the digest in the
 * reference; the digest the tag resolves to in the emulated ECR.
 */
export function behaviorFor(images: Record<string, ImageBehavior>, image: string, digest: string | undefined): ImageBehavior | undefined {
  if (images[image]) return images[image];
  const slash = image.indexOf("/");
  const hostless = slash >= 0 && /[.:]|^localhost$/.test(image.slice(0, slash)) ? image.slice(slash + 1) : image;
  if (images[hostless]) return images[hostless];
  const at = image.indexOf("@");
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = noDigest.lastIndexOf(":");
  const tag = colon > noDigest.lastIndexOf("/") ? noDigest.slice(colon + 1) : undefined;
  if (tag !== undefined && images[tag]) return images[tag];
  const embedded = at >= 0 ? image.slice(at + 1) : undefined;
  if (embedded !== undefined && images[embedded]) return images[embedded];
  if (digest !== undefined && images[digest]) return images[digest];
  return undefined;
}
