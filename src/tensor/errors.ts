// src/tensor/errors.ts: the error classes every layer of layerwise throws. Messages name the
// function, the argument and the numbers, e.g. "affineForward: w has shape [5,3] but x flattens to [2,4]".

/** A tensor whose shape does not fit what the function needs. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A tensor of the wrong dtype, or two tensors whose dtypes do not match. */
export class DTypeError extends Error {
  override name = 'DTypeError';
}

/** A value outside its allowed range: a label >= numClasses, a negative learning rate, a NaN. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/**
 * A file that cannot be read or is malformed. `fn` is the function (or command) that read it,
 * `path` names the file (or the byte source a codec was given) and `reason` says what is wrong,
 * so that a caller can restate it (the CLI prints `${command}: ${path}: ${reason}`) without
 * taking the message apart. The message is `${fn}: ${path}: ${reason}`.
 */
export class FileError extends Error {
  override name = 'FileError';
  readonly fn: string;
  readonly path: string;
  readonly reason: string;
  constructor(fn: string, path: string, reason: string, options?: ErrorOptions) {
    super(`${fn}: ${path}: ${reason}`, options);
    this.fn = fn;
    this.path = path;
    this.reason = reason;
  }

  /** The error of a failed read: reason 'no such file' for ENOENT, else 'cannot read (<why>)'. */
  static cannotRead(fn: string, path: string, e: unknown): FileError {
    const code = (e as { code?: unknown } | null)?.code;
    const why = e instanceof Error ? e.message : String(e);
    const reason = code === 'ENOENT' ? 'no such file' : `cannot read (${why})`;
    return new FileError(fn, path, reason, { cause: e });
  }
}
