/** A throw-away copy of the project tree (environments, taskdefs, dockerfiles) for tests that mutate files. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./cli.js";

export interface TempProject {
  root: string;
  path(rel: string): string;
  readJson(rel: string): any;
  read(rel: string): string;
  writeJson(rel: string, value: unknown): void;
  write(rel: string, text: string): void;
  edit(rel: string, fn: (value: any) => void): void;
  cleanup(): void;
}

export function copyProject(): TempProject {
  const root = mkdtempSync(path.join(tmpdir(), "lgtm-project-"));
  for (const dir of ["environments", "taskdefs", "dockerfiles"]) cpSync(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  const p = (rel: string) => path.join(root, rel);
  const project: TempProject = {
    root,
    path: p,
    readJson: (rel) => JSON.parse(readFileSync(p(rel), "utf8")),
    read: (rel) => readFileSync(p(rel), "utf8"),
    writeJson: (rel, value) => writeFileSync(p(rel), JSON.stringify(value, null, 2)),
    write: (rel, text) => writeFileSync(p(rel), text),
    edit: (rel, fn) => {
      const v = project.readJson(rel);
      fn(v);
      project.writeJson(rel, v);
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  return project;
}
