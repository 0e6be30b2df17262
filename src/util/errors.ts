import { strerror } from '../fsx/file.js';

/** A file-system error as one line's worth of words (strerror's, where Node gives a code). */
export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, number> = { ENOENT: 2, EACCES: 13, EISDIR: 21, ENOTDIR: 20, ENOSPC: 28, EROFS: 30, EPERM: 1 };
  const names: Record<number, string> = { 2: 'No such file or directory', 13: 'Permission denied', 21: 'Is a directory', 20: 'Not a directory', 30: 'Read-only file system' };
  const n = err.code ? known[err.code] : undefined;
  return n ? names[n] ?? strerror(n) : err.message;
}
