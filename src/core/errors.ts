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
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  invalid input or configuration (nothing changed)
  3  release failed and was rolled back (the previous version is serving)
  4  release failed and rollback failed or was impossible (service needs attention)
  5  precondition not met (nothing changed)`;

/** An error that knows which exit code it maps to. Only the CLI entry turns it into process.exit. */
export class LgtmError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flag, file, field or template: exit 2, and nothing was changed. */
export class InvalidInputError extends LgtmError {
  constructor(message: string) {
    super(message, ExitCode.InvalidInput);
  }
}

/** The world is not in a state where the command may proceed: exit 5, and nothing was changed. */
export class PreconditionError extends LgtmError {
  constructor(message: string) {
    super(message, ExitCode.Precondition);
  }
}
