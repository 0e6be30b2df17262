import type { Task } from '../../sched/task.js';
import type { Gen, Kernel } from '../core.js';
import { V4_14, V5_8 } from '../designs.js';
import { d_mark_dontcache } from '../fs/dcache.js';
import { IOLOCK, MMAPLOCK, fs_lock, fs_unlock } from '../fs/generic.js';
import { filemap_write_and_wait } from '../mm/filemap.js';
import { invalidate_inode_pages2 } from '../mm/truncate.js';
import { F_REFUSE, refusal } from '../fs/refuse.js';
import { dax_update_vmas } from '../mm/mmap.js';

/**
 * fs/xfs/xfs_ioctl.c: FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR and what a
 * change of FS_XFLAG_DAX does, by release.
 */

const F_IOCTL = (dax: boolean): string => `FS_IOC_FSSETXATTR: ${dax ? 'set' : 'clear'} FS_XFLAG_DAX`;
const F_INVAL = (err: number): string => `write back / invalidate failed (${err}): the flag stays`;
const F_DONE = (dax: boolean, how: string): string => `on-disk DAX flag ${dax ? 'set' : 'cleared'}, ${how === 'now' ? `S_DAX=${dax ? 1 : 0} at once` : 'S_DAX unchanged'}`;
const F_DONTCACHE = (): string => 'xfs_ioctl_setattr_prepare_dax(): the flag changes, d_mark_dontcache(): I_DONTCACHE and DCACHE_DONTCACHE set';

const XFS_N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' };

/** FS_IOC_FSGETXATTR: whether FS_XFLAG_DAX is set (the on-disk flag, not S_DAX). */
export function xfs_ioc_fsgetxattr_dax(k: Kernel): boolean {
  return k.inode.diskDax;
}

/**
 * xfs_ioctl_setattr_dax_invalidate() (4.13, 4.14): -EINVAL unless a
 * regular file with page-sized blocks; nothing to do if the requested flag
 * equals IS_DAX; otherwise MMAPLOCK and IOLOCK exclusive (held until the
 * transaction commits), filemap_write_and_wait and invalidate_inode_pages2.
 * Since 4.14 never changes IS_DAX, every request differing from it flushes.
 * refuseWhileMapped and refuseWhileOpen add their EBUSY once the locks are held.
 */
function* xfs_ioctl_setattr_dax_invalidate(k: Kernel, t: Task, dax: boolean): Gen<{ err: number; locked: boolean }> {
  t.enter('xfs_ioctl_setattr_dax_invalidate');
  try {
    // "if the DAX state is not changing, we have nothing to do here"
    if (k.tick()) yield;
    if (k.isDax(t) === dax) return { err: 0, locked: false };
    yield* fs_lock(k, XFS_N, t, IOLOCK | MMAPLOCK, true);
    if (k.design.refuseWhileMapped || k.design.refuseWhileOpen) {
      if (k.tick()) yield;
      const why = refusal(k);
      if (why) {
        if (k.trace.enabled) k.trace.add(t, 'flip', F_REFUSE, why);
        if (k.onFlag) k.onFlag(t, 'refused', dax, k.inode.sDax, k.inode.sDax, `EBUSY: ${why}`);
        return { err: -16, locked: true };
      }
    }
    let err = yield* filemap_write_and_wait(k, t);
    if (!err) err = yield* invalidate_inode_pages2(k, t);
    if (err && k.trace.enabled) k.trace.add(t, 'flip', F_INVAL, err);
    if (err && k.onFlag) k.onFlag(t, 'refused', dax, k.inode.sDax, k.inode.sDax, `${err === -16 ? 'EBUSY' : `error ${-err}`}: the page cache could not be invalidated`);
    return { err, locked: true };
  } finally {
    t.leave();
  }
}

/**
 * xfs_ioctl_setattr_prepare_dax() (5.8, e4f9ba20d3b8): under dax=inode, a
 * change of the on-disk flag on a file marks it don't-cache. No lock, no
 * flush: S_DAX follows when the inode is next loaded.
 */
function xfs_ioctl_setattr_prepare_dax(k: Kernel, t: Task, dax: boolean): void {
  t.enter('xfs_ioctl_setattr_prepare_dax');
  if (k.mount !== 'always' && k.mount !== 'never' && k.inode.diskDax !== dax) {
    d_mark_dontcache(k);
    if (k.trace.enabled) k.trace.add(t, 'flip', F_DONTCACHE);
  }
  t.leave();
}

/**
 * xfs_ioctl_setattr() with FS_XFLAG_DAX set or cleared. Then the
 * transaction: xfs_ioctl_setattr_xflags() writes di_flags2 and
 * xfs_diflags_to_linux() sets or clears S_DAX from the flag alone in 4.13
 * (xfs_ioctl.c:1012/1014); 4.14 has that under "#if 0", "disabled until
 * the flag switching races are sorted out" (742d84290739); 5.8's
 * xfs_diflags_to_iflags(ip, false) leaves S_DAX to the next load.
 */
export function* xfs_ioctl_setattr(k: Kernel, t: Task, dax: boolean): Gen<number> {
  t.enter('xfs_file_ioctl');
  t.enter('xfs_ioctl_setattr');
  try {
    if (k.trace.enabled) k.trace.add(t, 'flip', F_IOCTL, dax);
    let locked = false;
    if (k.v < V5_8) {
      const r = yield* xfs_ioctl_setattr_dax_invalidate(k, t, dax);
      locked = r.locked;
      if (r.err) {
        if (locked) yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
        return r.err;
      }
    } else xfs_ioctl_setattr_prepare_dax(k, t, dax);
    t.enter('xfs_ioctl_setattr_xflags');
    if (k.tick()) yield; // xfs_ioctl_setattr_get_trans(): ILOCK
    const ip = k.inode;
    const changed = ip.diskDax !== dax;
    const before = ip.sDax;
    if (changed) k.flips++;
    ip.diskDax = dax;
    if (k.v < V4_14) ip.sDax = dax;
    if (changed && k.onFlag) k.onFlag(t, 'flip', dax, before, ip.sDax, k.v < V4_14 ? 'now' : 'on-reload');
    if (k.trace.enabled) k.trace.add(t, 'flip', F_DONE, dax, k.v < V4_14 ? 'now' : 'on-reload', changed);
    t.leave();
    // the transaction commits, then the joined locks go (a design that updates VMAs does it here)
    if (locked && k.design.updateVmas === 'under-locks') yield* dax_update_vmas(k, t);
    if (locked && k.design.updateVmas === 'after-mmaplock') {
      yield* fs_unlock(k, t, MMAPLOCK, true);
      yield* dax_update_vmas(k, t);
      yield* fs_unlock(k, t, IOLOCK, true);
    } else if (locked) yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
    return 0;
  } finally {
    t.leave();
    t.leave();
  }
}
