import type { Feature } from '../fsx/file.js';
import type { KernelVersion } from './designs.js';

/**
 * What the modelled kernel and file system say to fsx's optional
 * operations: the errno each start-up probe sees and each operation
 * returns. fsx disables what it is refused in the ways it checks for
 * (src/fsx/engine.ts, probeFeatures); an operation it keeps gets the same
 * answer when it runs.
 *
 * The facts, by kernel (KERNEL-HISTORY.md §6, and the kernel sources):
 *
 * - fallocate. XFS takes every mode fsx uses (KEEP_SIZE, PUNCH_HOLE,
 *   COLLAPSE_RANGE, ZERO_RANGE, INSERT_RANGE, UNSHARE_RANGE: its
 *   XFS_FALLOC_FL_SUPPORTED since 4.9; UNSHARE on an inode with no shared
 *   extents does nothing and succeeds). ext4 (extent-mapped files, the
 *   default) takes the same modes but UNSHARE_RANGE, which no ext4 ever
 *   implemented: ext4_fallocate returns -EOPNOTSUPP for a mode outside its
 *   list before it looks at anything else. Neither checks DAX.
 * - FICLONERANGE. The modelled file systems are made without reflink: the
 *   mkfs.xfs default until xfsprogs 5.1 (2019), and the only way to run DAX
 *   on any modelled kernel (4.13/4.14 warn that DAX and reflink "have not
 *   been tested together"; 5.8 refuses dax=always on a reflink file system;
 *   fsdax with reflink came in 6.0). XFS then answers -EOPNOTSUPP
 *   (xfs_reflink_remap_range: no reflink feature); with reflink it would
 *   answer -EINVAL for a DAX inode (§6), which fsx does not treat as
 *   "unsupported". ext4 has no clone method: the VFS answers -EOPNOTSUPP.
 * - FIDEDUPERANGE. The ioctl returns 0 and reports per range: XFS
 *   -EOPNOTSUPP without reflink (-EINVAL for DAX with it, §6); ext4 has no
 *   dedupe method, so the VFS reports -EINVAL. fsx disables dedupe on
 *   either.
 * - copy_file_range exists since 4.5. With no clone to use, the VFS
 *   falls back to copying through the page cache (do_splice_direct), so
 *   it works on both file systems and every modelled kernel.
 * - XFS_IOC_EXCHANGE_RANGE is new in 6.10: the ioctl number is unknown to
 *   every modelled kernel's xfs_file_ioctl and ext4_ioctl, -ENOTTY.
 * - RWF_DONTCACHE (0x80) is new in 6.14 and RWF_ATOMIC (0x40) in 6.11:
 *   preadv2/pwritev2 refuse a flag outside RWF_SUPPORTED with -EOPNOTSUPP
 *   (kiocb_set_rw_flags) before doing any I/O.
 * - Atomic writes: statx has no STATX_WRITE_ATOMIC before 6.11; the kernel
 *   ignores the unknown mask bit and leaves stx_atomic_write_unit_min 0.
 */

export const ENOTTY = 25;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;

/** The kernel and file system a question is asked of. */
export interface Platform {
  fs: 'xfs' | 'ext4';
  base: KernelVersion;
  /** The file system was made with reflink (never, in the model: see above). */
  reflink: boolean;
  /** IS_DAX() of the file when asked. */
  dax: boolean;
}

/** The model's file systems have no reflink (see above). */
export const MODEL_REFLINK = false;

/** A release as a number: 4.13 -> 4013, 6.10 -> 6010. */
export function release(v: string): number {
  const [maj, min] = v.split('.').map((x) => Number.parseInt(x, 10));
  return maj * 1000 + (min || 0);
}

const since = (p: Platform, v: string): boolean => release(p.base) >= release(v);

/** fallocate mode bits (linux/falloc.h). */
const KEEP_SIZE = 0x01;
const PUNCH_HOLE = 0x02;
const COLLAPSE_RANGE = 0x08;
const ZERO_RANGE = 0x10;
const INSERT_RANGE = 0x20;
const UNSHARE_RANGE = 0x40;

const XFS_FALLOC = KEEP_SIZE | PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE | UNSHARE_RANGE;
const EXT4_FALLOC = KEEP_SIZE | PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE;

/** ->fallocate refusing a mode it does not know (the mode check comes first in both). */
export function fallocateErrno(p: Platform, mode: number): number {
  const known = p.fs === 'xfs' ? XFS_FALLOC : EXT4_FALLOC;
  return mode & ~known ? EOPNOTSUPP : 0;
}

/** FICLONERANGE, before any range check. */
export function cloneErrno(p: Platform): number {
  if (p.fs === 'ext4' || !p.reflink) return EOPNOTSUPP;
  if (p.dax && !since(p, '6.0')) return EINVAL;
  return 0;
}

/** FIDEDUPERANGE: the status of the one range (the ioctl itself returns 0). */
export function dedupeStatus(p: Platform): number {
  if (p.fs === 'ext4') return EINVAL;
  if (!p.reflink) return EOPNOTSUPP;
  if (p.dax && !since(p, '6.0')) return EINVAL;
  return 0;
}

/** XFS_IOC_EXCHANGE_RANGE. */
export function exchangeErrno(p: Platform): number {
  return p.fs === 'xfs' && since(p, '6.10') ? 0 : ENOTTY;
}

/** RWF_ flags preadv2/pwritev2 accept (RWF_SUPPORTED). */
export function rwfErrno(p: Platform, rwf: number): number {
  let supported = 0x1 | 0x2 | 0x4 | 0x8; // HIPRI DSYNC SYNC NOWAIT (4.13)
  if (since(p, '4.16')) supported |= 0x10; // APPEND
  if (since(p, '6.11')) supported |= 0x40; // ATOMIC
  if (since(p, '6.14')) supported |= 0x80; // DONTCACHE
  return rwf & ~supported ? EOPNOTSUPP : 0;
}

/** statx's atomic write unit (min, max), or null when the kernel reports none. */
export function atomicWriteUnits(p: Platform): [number, number] | null {
  // every modelled kernel is older than 6.11; what a newer one reports per file system is not modelled
  void p;
  return null;
}

/**
 * One of fsx's start-up probes: the errno fsx sees, 0 when the call
 * succeeds. For dedupe, the range's status (fsx reads either); for atomic,
 * EOPNOTSUPP when statx reports no atomic write unit.
 */
export function probeErrno(p: Platform, f: Feature, mode = 0): number {
  switch (f) {
    case 'fallocate':
      return fallocateErrno(p, mode);
    case 'clone':
      return cloneErrno(p);
    case 'dedupe':
      return dedupeStatus(p);
    case 'copy':
      return 0;
    case 'exchange':
      return exchangeErrno(p);
    case 'dontcache':
      return rwfErrno(p, 0x80);
    case 'atomic':
      return atomicWriteUnits(p) ? 0 : EOPNOTSUPP;
  }
}
