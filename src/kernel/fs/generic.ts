import { andThen, type Task } from '../../sched/task.js';
import { FALLOC } from '../../fsx/ops.js';
import { HOLE, Kernel, PAGE_SIZE, Page, type Gen, type RemapKind } from '../core.js';
import { V5_8 } from '../designs.js';
import { down_read, down_write, up_read, up_write } from '../locks.js';
import { filemap_write_and_wait_range, generic_file_buffered_read, generic_perform_write, write_cache_pages } from '../mm/filemap.js';
import { truncate_pagecache, truncate_pagecache_range } from '../mm/truncate.js';
import { bmapCollapse, bmapInsert, bmapPrealloc, bmapPunch, bmapZeroUnwritten, mediaCarry, mediaRead, mediaWrite } from './bmap.js';
import { dax_iomap_read, dax_iomap_write, dax_writeback_mapping_range } from './dax.js';
import { zero_file_range } from './iomap.js';
import { F_DATA } from '../trace.js';

/**
 * The paths XFS and ext4 share in shape (KERNEL.md §4-5): the bodies of
 * read and write once a path is chosen, size changes, fallocate, remap,
 * fsync, writeback; each file system gives its own function names so call
 * traces read like the kernel's, and its own ->read_iter/->write_iter
 * (xfs/file.ts, ext4/file.ts) decide where IS_DAX is tested.
 */
export interface FsNames {
  read_iter: string;
  dax_read: string;
  buffered_read: string;
  dio_read: string;
  write_iter: string;
  dax_write: string;
  buffered_write: string;
  dio_write: string;
  setattr: string;
  setattr_size: string;
  fallocate: string;
  remap: string;
  fsync: string;
  writepages: string;
  /** Frame for taking the I/O lock and the mmap lock (xfs_ilock; inode_lock / down_write). */
  iolock: string;
  mmaplock: string;
}

export const IOLOCK = 1;
export const MMAPLOCK = 2;

/** Take the inode locks in the kernel's order: IOLOCK before MMAPLOCK. */
export function fs_lock(k: Kernel, n: Pick<FsNames, 'iolock' | 'mmaplock'>, t: Task, which: number, write: boolean): Gen<void> {
  const ip = k.inode;
  const take = write ? down_write : down_read;
  if (which === IOLOCK) return take(k, t, ip.iolock, n.iolock);
  if (which === MMAPLOCK) return take(k, t, ip.mmaplock, n.mmaplock);
  return lockBoth(k, n, t, write);
}

/** xfs_ilock(XFS_IOLOCK_* | XFS_MMAPLOCK_*) (fs/xfs/xfs_inode.c, 4.13; ext4: inode_lock, then i_mmap_sem): the I/O lock, then the mmap lock once it is held. */
function lockBoth(k: Kernel, n: Pick<FsNames, 'iolock' | 'mmaplock'>, t: Task, write: boolean): Gen<void> {
  const take = write ? down_write : down_read;
  return andThen(take(k, t, k.inode.iolock, n.iolock), () => take(k, t, k.inode.mmaplock, n.mmaplock));
}

/** Release the inode locks (xfs_iunlock; inode_unlock / up_read, up_write). */
export function fs_unlock(k: Kernel, t: Task, which: number, write: boolean): Gen<void> {
  const ip = k.inode;
  const drop = write ? up_write : up_read;
  if (which === IOLOCK) return drop(k, t, ip.iolock);
  if (which === MMAPLOCK) return drop(k, t, ip.mmaplock);
  return unlockBoth(k, t, write);
}

/** xfs_iunlock(XFS_IOLOCK_* | XFS_MMAPLOCK_*) (fs/xfs/xfs_inode.c, 4.13; ext4 in the same order): the mmap lock, then the I/O lock. */
function unlockBoth(k: Kernel, t: Task, write: boolean): Gen<void> {
  const drop = write ? up_write : up_read;
  return andThen(drop(k, t, k.inode.mmaplock), () => drop(k, t, k.inode.iolock));
}

/** A DAX read: dax_iomap_rw under the caller's lock. */
export function* dax_read(k: Kernel, n: FsNames, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter(n.dax_read);
  try {
    return yield* dax_iomap_read(k, t, dst, dstOff, len, pos);
  } finally {
    t.leave();
  }
}

/**
 * The device's logical sector size: direct I/O off DAX must be aligned to it
 * (a pmem namespace's block device has 512-byte sectors).
 */
const DIO_SECTOR = 512;

/**
 * Direct I/O's alignment check on writes: "DIO must be aligned to device logical sector size"
 * (xfs_file_dio_aio_write, fs/xfs/xfs_file.c, 4.13-5.11; ext4_direct_IO through
 * do_blockdev_direct_IO, fs/direct-io.c, 4.13-5.4, then iomap_dio_bio_actor): -EINVAL for a
 * file offset or length off a sector boundary. The user buffer's address counts too in the
 * kernel; the model takes it as aligned (fsx aligns its buffers to -r and -w).
 */
function dioMisaligned(pos: number, len: number): boolean {
  return ((pos | len) & (DIO_SECTOR - 1)) !== 0;
}

/**
 * The same check on reads, which moved: iomap_dio_actor (fs/iomap.c, 4.13/4.14) checks
 * every extent of the range, as ext4's do_blockdev_direct_IO checks the whole of it; from
 * 4.19 (fs/iomap/direct-io.c in 5.8/5.11, which ext4 uses since 5.5) only a mapped extent's
 * piece goes through iomap_dio_bio_actor's check, and a hole or unwritten extent reads as
 * zeros (iomap_dio_hole_actor). Extent edges are block edges, so only the range's first and
 * last blocks can hold a misaligned piece.
 */
function dioReadMisaligned(k: Kernel, pos: number, len: number): boolean {
  if (!dioMisaligned(pos, len)) return false;
  if (k.v < V5_8) return true;
  const ip = k.inode;
  const end = pos + len;
  const edge = (at: number, b: number): boolean => dioMisaligned(at, 0) && b < ip.nblocks && ip.blocks[b] !== HOLE && !ip.unwritten[b];
  return edge(pos, Math.floor(pos / PAGE_SIZE)) || edge(end, Math.floor((end - 1) / PAGE_SIZE));
}

/** A direct read: write back the range, then read media (the caller holds what the file system takes). */
export function* dio_read(k: Kernel, n: FsNames, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter(n.dio_read);
  try {
    // (a read at or past EOF, which fsx never makes, gets no answer of its own: iomap's 0 before any check is not modelled)
    if (k.v < V5_8 && dioReadMisaligned(k, pos, len)) return -22;
    yield* filemap_write_and_wait_range(k, t, pos, pos + len - 1);
    // from 5.8 the extents are looked at after the write-back (which maps what was delayed)
    if (k.v >= V5_8 && dioReadMisaligned(k, pos, len)) return -22;
    if (k.tick()) yield;
    const isize = k.isize();
    const ret = Math.max(0, Math.min(len, isize - pos));
    mediaRead(k.inode, k.media, dst, dstOff, pos, ret);
    mediaCarry(k, t, pos, ret);
    if (ret && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'read-direct', pos, ret);
    return ret;
  } finally {
    t.leave();
  }
}

/** A buffered read through the page cache. */
export function* buffered_read(k: Kernel, n: FsNames, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter(n.buffered_read);
  try {
    return yield* generic_file_buffered_read(k, t, dst, dstOff, len, pos);
  } finally {
    t.leave();
  }
}

/** The write checks: zero the gap between the old EOF and a write that starts past it. */
function* write_checks(k: Kernel, t: Task, pos: number, dax: boolean): Gen<void> {
  if (k.tick()) yield;
  const isize = k.isize();
  if (pos > isize) yield* zero_file_range(k, t, isize, Math.min(pos, Math.ceil(isize / PAGE_SIZE) * PAGE_SIZE), dax);
}

/** The body of a write under IOLOCK exclusive once the path is chosen: DAX, direct or buffered. */
export function* write_body(k: Kernel, n: FsNames, t: Task, dax: boolean, direct: boolean, src: Uint8Array, srcOff: number, len: number, pos: number): Gen<number> {
  if (dax) {
    t.enter(n.dax_write);
    try {
      yield* write_checks(k, t, pos, true);
      return yield* dax_iomap_write(k, t, src, srcOff, len, pos);
    } finally {
      t.leave();
    }
  }
  if (direct) {
    t.enter(n.dio_write);
    try {
      if (dioMisaligned(pos, len)) return -22;
      yield* write_checks(k, t, pos, false);
      yield* filemap_write_and_wait_range(k, t, pos, pos + len - 1);
      truncate_pagecache_range(k, t, Math.floor(pos / PAGE_SIZE) * PAGE_SIZE, Math.ceil((pos + len) / PAGE_SIZE) * PAGE_SIZE);
      mediaWrite(k.inode, k.media, src, srcOff, pos, len);
      if (len && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'write-direct', pos, len);
      if (pos + len > k.inode.i_size) k.inode.i_size = pos + len;
      return len;
    } finally {
      t.leave();
    }
  }
  t.enter(n.buffered_write);
  try {
    yield* write_checks(k, t, pos, false);
    return yield* generic_perform_write(k, t, src, srcOff, len, pos);
  } finally {
    t.leave();
  }
}

/**
 * ->write_iter (xfs_file_write_iter and ext4_file_write_iter have the same
 * shape in 4.13-5.11): IS_DAX tested before taking any lock, then IOLOCK
 * exclusive in the path chosen, no second test; with writeIsDax "locked" the
 * test moves after the lock.
 */
export function* write_iter(k: Kernel, n: FsNames, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number, direct: boolean): Gen<number> {
  t.enter(n.write_iter);
  try {
    let early: boolean | null = null;
    if (k.design.writeIsDax === 'unlocked') {
      if (k.tick()) yield;
      early = k.isDax(t);
    }
    yield* fs_lock(k, n, t, IOLOCK, true);
    let dax = early;
    if (dax === null) {
      if (k.tick()) yield;
      dax = k.isDax(t);
    }
    const ret = yield* write_body(k, n, t, dax, direct, src, srcOff, len, pos);
    yield* fs_unlock(k, t, IOLOCK, true);
    return ret;
  } finally {
    t.leave();
  }
}

/** ->setattr for ATTR_SIZE: both locks exclusive; zero the partial EOF block; drop pages and PTEs past the new size. */
export function* setattr_size(k: Kernel, n: FsNames, t: Task, newsize: number): Gen<number> {
  t.enter(n.setattr);
  try {
    yield* fs_lock(k, n, t, IOLOCK | MMAPLOCK, true);
    t.enter(n.setattr_size);
    const ip = k.inode;
    if (k.tick()) yield;
    const dax = k.isDax(t);
    const oldsize = ip.i_size;
    if (newsize > oldsize) {
      // zero the tail of the old EOF block
      yield* zero_file_range(k, t, oldsize, Math.min(newsize, Math.ceil(oldsize / PAGE_SIZE) * PAGE_SIZE), dax);
    } else if (newsize < oldsize) {
      // iomap_truncate_page(): zero the rest of the new EOF block, up to its end
      yield* zero_file_range(k, t, newsize, Math.ceil(newsize / PAGE_SIZE) * PAGE_SIZE, dax);
    }
    ip.i_size = newsize;
    truncate_pagecache(k, t, newsize);
    if (newsize <= oldsize) bmapPunch(ip, k.media, Math.ceil(newsize / PAGE_SIZE) * PAGE_SIZE, ip.nblocks * PAGE_SIZE);
    t.leave();
    yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
    return 0;
  } finally {
    t.leave();
  }
}

/** Write back and drop the page cache over [start, end): the fallocate family's first step. */
function* flush_unmap_range(k: Kernel, t: Task, start: number, end: number): Gen<number> {
  const s = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  const e = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
  const err = yield* filemap_write_and_wait_range(k, t, s, e - 1);
  if (err) return err;
  if (k.trace.enabled && k.inode.mapping.nrpages > 0) {
    // pages the write-back left dirty (a DAX write-back skips them) lose their bytes here
    const entries = k.inode.mapping.entries;
    for (let i = s / PAGE_SIZE; i < e / PAGE_SIZE; i++) {
      const p = entries.get(i);
      if (p instanceof Page && p.dirty) k.trace.add(t, 'data', F_DATA, 'drop-dirty', i * PAGE_SIZE, PAGE_SIZE);
    }
  }
  truncate_pagecache_range(k, t, s, e);
  return 0;
}

/** ->fallocate: IOLOCK and MMAPLOCK exclusive; write back and drop the range; change blocks and size. */
export function* fallocate(k: Kernel, n: FsNames, t: Task, mode: number, off: number, len: number): Gen<number> {
  t.enter(n.fallocate);
  try {
    yield* fs_lock(k, n, t, IOLOCK | MMAPLOCK, true);
    const ip = k.inode;
    if (k.tick()) yield;
    const dax = k.isDax(t);
    const end = off + len;
    let ret = 0;
    const keep = (mode & FALLOC.KEEP_SIZE) !== 0;
    const bs = PAGE_SIZE;
    const up = (x: number): number => Math.ceil(x / bs) * bs;
    const down = (x: number): number => Math.floor(x / bs) * bs;
    if (mode & FALLOC.PUNCH_HOLE) {
      ret = yield* flush_unmap_range(k, t, off, end);
      if (!ret) {
        bmapPunch(ip, k.media, off, end);
        yield* zero_file_range(k, t, off, Math.min(end, up(off)), dax);
        if (end > up(off)) yield* zero_file_range(k, t, Math.max(off, down(end)), end, dax);
      }
    } else if (mode & FALLOC.ZERO_RANGE) {
      ret = yield* flush_unmap_range(k, t, off, end);
      if (!ret) {
        if (!keep && end > ip.i_size) yield* zero_file_range(k, t, ip.i_size, Math.min(off, up(ip.i_size)), dax);
        bmapZeroUnwritten(ip, k.media, off, end);
        yield* zero_file_range(k, t, off, Math.min(end, up(off)), dax);
        if (end > up(off)) yield* zero_file_range(k, t, Math.max(off, down(end)), end, dax);
        if (!keep && end > ip.i_size) ip.i_size = end;
      }
    } else if (mode & FALLOC.COLLAPSE_RANGE) {
      if (off % bs || len % bs || end >= ip.i_size) ret = -22;
      else {
        ret = yield* flush_unmap_range(k, t, off, up(ip.i_size));
        if (!ret) {
          bmapCollapse(ip, k.media, off, len);
          // then the size goes down as a truncate would: zero the new EOF block's tail
          ip.i_size -= len;
          yield* zero_file_range(k, t, ip.i_size, up(ip.i_size), dax);
          truncate_pagecache(k, t, ip.i_size);
        }
      }
    } else if (mode & FALLOC.INSERT_RANGE) {
      if (off % bs || len % bs || off >= ip.i_size) ret = -22;
      else {
        // the size goes up first, as a truncate would (zeroing the old EOF block's tail), then the shift
        yield* zero_file_range(k, t, ip.i_size, up(ip.i_size), dax);
        ret = yield* flush_unmap_range(k, t, off, up(ip.i_size));
        if (!ret) {
          ip.i_size += len;
          bmapInsert(ip, k.media, off, len);
        }
      }
    } else {
      // allocate (and unshare: no shared extents in the model)
      if (!keep && end > ip.i_size) yield* zero_file_range(k, t, ip.i_size, Math.min(end, up(ip.i_size)), dax);
      bmapPrealloc(ip, k.media, off, end);
      if (!keep && end > ip.i_size) ip.i_size = end;
    }
    yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * copy_file_range and the remap ioctls (clone, dedupe, exchange): both
 * locks exclusive, the ranges written back and dropped, then the data moved
 * on media. Returns bytes copied for copy, 0 for the others.
 */
export function* remap(k: Kernel, n: FsNames, t: Task, kind: RemapKind, off: number, len: number, dest: number): Gen<number> {
  t.enter(n.remap);
  try {
    yield* fs_lock(k, n, t, IOLOCK | MMAPLOCK, true);
    const ip = k.inode;
    const isize = ip.i_size;
    // the remap ioctls take whole ranges inside the file (generic_remap_checks); copy_file_range stops at EOF
    if (kind !== 'copy' && (off + len > isize || ((kind === 'exchange' || kind === 'dedupe') && dest + len > isize))) {
      yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
      return -22;
    }
    const count = Math.max(0, Math.min(len, isize - off));
    const lo = Math.min(off, dest, isize);
    const hi = Math.max(off + count, dest + count, isize);
    const err = yield* flush_unmap_range(k, t, lo, hi);
    if (err) {
      yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
      return err;
    }
    if (kind !== 'dedupe' && count > 0) {
      const buf = k.scratch(0, count);
      mediaRead(ip, k.media, buf, 0, off, count);
      if (kind === 'exchange') {
        const other = k.scratch(1, count);
        mediaRead(ip, k.media, other, 0, dest, count);
        mediaWrite(ip, k.media, other, 0, off, count);
      } else if (dest > isize) {
        // the cache over [lo, hi) was just dropped: zero the old EOF block's tail on media
        yield* zero_file_range(k, t, isize, Math.min(dest, Math.ceil(isize / PAGE_SIZE) * PAGE_SIZE), true);
      }
      mediaWrite(ip, k.media, buf, 0, dest, count);
      if (dest + count > ip.i_size) ip.i_size = dest + count;
    }
    yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
    return kind === 'copy' ? count : 0;
  } finally {
    t.leave();
  }
}

/** ->fsync: write back the range (file_write_and_wait_range: DAX flushes its entries); an error comes back to fsync(2) and msync(2). */
export function* fsync(k: Kernel, n: FsNames, t: Task, start: number, end: number): Gen<number> {
  t.enter(n.fsync);
  try {
    return yield* filemap_write_and_wait_range(k, t, start, end);
  } finally {
    t.leave();
  }
}

/**
 * ->writepages (xfs_vm_writepages, ext4_writepages): a DAX mapping goes to
 * dax_writeback_mapping_range(), a page-cache mapping to write_cache_pages().
 */
export function* writepages(k: Kernel, n: FsNames, t: Task, start: number, end: number, sync: boolean): Gen<number> {
  t.enter(n.writepages);
  try {
    if (k.tick()) yield;
    if (k.isDax(t)) return yield* dax_writeback_mapping_range(k, t, start, end, sync);
    return yield* write_cache_pages(k, t, Math.floor(start / PAGE_SIZE), Math.floor(end / PAGE_SIZE), sync);
  } finally {
    t.leave();
  }
}
