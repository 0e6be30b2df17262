/**
 * The system-call surface the fsx task uses on its test file. Every call is
 * a generator: a model of the kernel yields at each point where another task
 * could run; the plain in-memory file below never yields. Calls return a
 * byte count or 0 on success and a negative errno on failure, like the
 * kernel's syscall entry points.
 */
import type { Gen } from '../sched/task.js';

/** A user mapping returned by mmap: an opaque handle plus its file range. */
export interface Mapping {
  /** File offset of the first mapped byte (page aligned). */
  readonly pgoff: number;
  /** Mapped length in bytes as asked (the VMA covers whole pages). */
  readonly length: number;
}

/** The optional operations fsx probes for at start-up. */
export type Feature = 'fallocate' | 'clone' | 'dedupe' | 'copy' | 'exchange' | 'dontcache' | 'atomic';

export interface OpenFlags {
  direct: boolean;
}

export interface FsxFile {
  open(flags: OpenFlags): Gen<number>;
  close(): Gen<number>;
  /** `echo 3 > /proc/sys/vm/drop_caches` */
  dropCaches(): Gen<number>;
  /** fstat(2) st_size (and lseek SEEK_END, which reads the same i_size). */
  size(): Gen<number>;
  pread(dst: Uint8Array, dstOff: number, len: number, off: number, rwf: number): Gen<number>;
  pwrite(src: Uint8Array, srcOff: number, len: number, off: number, rwf: number): Gen<number>;
  ftruncate(size: number): Gen<number>;
  fallocate(mode: number, off: number, len: number): Gen<number>;
  copyFileRange(off: number, dest: number, len: number): Gen<number>;
  cloneRange(off: number, len: number, dest: number): Gen<number>;
  dedupeRange(off: number, len: number, dest: number): Gen<number>;
  exchangeRange(off: number, len: number, dest: number): Gen<number>;
  fsync(): Gen<number>;
  /**
   * One of fsx's start-up feature probes, answered as the file's kernel
   * would: the errno the probing call gets (0 when it succeeds). 'fallocate'
   * takes the mode; 'dedupe' answers the range's status (the ioctl itself
   * succeeds); 'atomic' answers EOPNOTSUPP when statx reports no atomic
   * write unit. A probe leaves the file as it was.
   */
  probe(feature: Feature, mode?: number): Gen<number>;
  mmap(off: number, len: number, writable: boolean): Gen<Mapping | number>;
  /** User-space memcpy out of a mapping; every page touched may fault. 0 or -EFAULT. */
  mapRead(m: Mapping, at: number, dst: Uint8Array, dstOff: number, len: number): Gen<number>;
  /** User-space memcpy into a mapping. */
  mapWrite(m: Mapping, at: number, src: Uint8Array, srcOff: number, len: number): Gen<number>;
  msync(m: Mapping, sync: boolean): Gen<number>;
  munmap(m: Mapping): Gen<number>;
  /** The file's contents as a reader would see them now (for the final file). */
  contents(): Uint8Array;
}

export const E = {
  EPERM: 1,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

const STRERROR: Record<number, string> = {
  1: 'Operation not permitted',
  5: 'Input/output error',
  9: 'Bad file descriptor',
  12: 'Cannot allocate memory',
  14: 'Bad address',
  16: 'Device or resource busy',
  22: 'Invalid argument',
  25: 'Inappropriate ioctl for device',
  27: 'File too large',
  28: 'No space left on device',
  38: 'Function not implemented',
  95: 'Operation not supported',
};

export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}
