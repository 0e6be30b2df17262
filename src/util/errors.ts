import { strerror } from '../fsx/file.js';
import type { ParseLine } from '../fsx/parsemessages.js';

/** A file-system error as one line's worth of words (strerror's, where Node gives a code). */
export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, number> = { ENOENT: 2, EACCES: 13, EISDIR: 21, ENOTDIR: 20, ENOSPC: 28, EROFS: 30, EPERM: 1 };
  const names: Record<number, string> = { 2: 'No such file or directory', 13: 'Permission denied', 21: 'Is a directory', 20: 'Not a directory', 30: 'Read-only file system' };
  const n = err.code ? known[err.code] : undefined;
  return n ? names[n] ?? strerror(n) : err.message;
}

/**
 * A bad command line or input: one line saying what is wrong ('' when fsx's
 * own lines say it), the exit code for it (fsx's usage exit by default), and
 * what fsx would have printed while parsing before it stopped.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 90,
    public before: ParseLine[] = [],
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A file daxfsx must create, read or write and cannot: one line, and the exit code for it. */
export class OutputError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}
