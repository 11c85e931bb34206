/** The git repository the images are built from. */
import { InvalidInputError } from "../core/errors.js";
import { vendor } from "./vendor.js";

async function git(root: string, args: string[]): Promise<string> {
  const { execa } = await vendor();
  const result = await execa("git", args, { cwd: root, reject: false });
  if (result.exitCode !== 0) {
    throw new InvalidInputError(`git ${args.join(" ")} failed in ${root} (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}; pass --sha instead`);
  }
  return result.stdout.trim();
}

/** The checked-out commit, abbreviated to 12 characters (7 is too short to stay unique in a busy repository). */
export function headSha(root: string): Promise<string> {
  return git(root, ["rev-parse", "--short=12", "HEAD"]);
}

/** The checked-out commit and up to `count - 1` commits before it, newest first, abbreviated like headSha. */
export async function recentShas(root: string, count: number): Promise<string[]> {
  return (await git(root, ["log", `-n${count}`, "--format=%h", "--abbrev=12"])).split("\n").filter((s) => s !== "");
}
