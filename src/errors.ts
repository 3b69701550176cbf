/**
 * Errors a user can cause. The CLI prints an RdlError's message alone (no stack trace) and
 * exits non-zero; anything else is a bug and is printed with its stack.
 */
export class RdlError extends Error {
  override name = 'RdlError';
}

/** A file that cannot be read as what it claims to be (truncated, wrong magic, bad header…). */
export class InputFileError extends RdlError {
  override name = 'InputFileError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A parameter (option, config field, argument) with a value outside what is accepted. */
export class ParameterError extends RdlError {
  override name = 'ParameterError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly actual: unknown,
  ) {
    super(`${parameter}: expected ${expected}, got ${describe(actual)}`);
  }
}

/** Data whose shape or size does not fit the operation (frame counts, image sizes…). */
export class ShapeError extends RdlError {
  override name = 'ShapeError';
}

/** An output that would overwrite an input, or cannot be written. */
export class OutputError extends RdlError {
  override name = 'OutputError';
}

/** The native engine (libtorch addon) is missing or unusable. */
export class EngineUnavailableError extends RdlError {
  override name = 'EngineUnavailableError';
}

/** A long job stopped by the user (Ctrl-C) after saving what lets it resume; exit code 130 as for SIGINT. */
export class InterruptedError extends RdlError {
  override name = 'InterruptedError';
  readonly exitCode = 130;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
