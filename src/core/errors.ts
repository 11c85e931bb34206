/**
 * Exit codes are part of the public contract (README, --help, Jenkins steps map them to build results).
 */
export const ExitCode = {
  Success: 0,
  Unexpected: 1,
  InvalidInput: 2,
  RolledBack: 3,
  RollbackFailed: 4,
  Precondition: 5,
  /** `diff --exit-code` found differences (like `git diff --exit-code`, but not sharing 1 with "unexpected error"). */
  Differences: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  invalid input or configuration (nothing changed)
  3  release failed and was rolled back (the previous version is serving)
  4  release failed and rollback failed or was impossible (service needs attention)
  5  precondition not met: a missing resource, AWS access denied or unreachable (nothing changed)
  6  diff --exit-code: there are differences`;

/** An error that knows which exit code it maps to. Only the CLI entry turns it into process.exit. */
export class LgtmError extends Error {
  readonly exitCode: ExitCode;
  /** `cause`: the error this one explains (its stack is printed with --debug). */
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flag, file, field or template: exit 2, and nothing was changed. */
export class InvalidInputError extends LgtmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.InvalidInput, options);
  }
}

/** The world is not in a state where the command may proceed: exit 5, and nothing was changed. */
export class PreconditionError extends LgtmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Precondition, options);
  }
}
