import { Command } from "commander";
import { Project, parseComponent } from "../adapters/files.js";
import { globals, type Io } from "./context.js";
import { addTagOptions, resolveTag } from "./options.js";

export function registerTag(program: Command, io: Io): void {
  addTagOptions(
    program
      .command("tag")
      .description("print the image tag (semver + commit SHA) for a component")
      .argument("<component>", "mimir, loki, tempo, pyroscope, grafana or alloy")
      .option("--release-branch <name>", "the release branch", "main")
      .addHelpText("after", "\nTag grammar: <MAJOR.MINOR.PATCH>[-<branch>[.<build>]]_g<sha>  (SemVer with '+' written as '_')"),
    { allowTag: false },
  )
    .action(async (componentArg: string, opts: { sha?: string; branch?: string; releaseBranch: string; build?: number }, cmd: Command) => {
      const g = globals(cmd);
      const component = parseComponent(componentArg);
      const project = new Project(g.root);
      const tag = await resolveTag(project, component, opts, { releaseBranch: opts.releaseBranch, shaFromGit: true });
      if (g.json) io.out(JSON.stringify({ component, version: tag.version, sha: tag.sha, tag: tag.tag }));
      else io.out(tag.tag);
    });
}
