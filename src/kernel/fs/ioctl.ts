import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import type { Kernel } from '../core.js';
import { filemap_write_and_wait, invalidate_inode_pages2 } from '../mm/filemap.js';
import { IOLOCK, MMAPLOCK, fs_lock, fs_unlock, type FsNames } from './generic.js';

const F_IOCTL = (dax: boolean): string => `FS_IOC_FSSETXATTR: ${dax ? 'set' : 'clear'} the DAX flag`;
const F_REFUSE = (): string => 'mapping_mapped(): refuse with EBUSY';
const F_INVAL = (err: number): string => `invalidate failed (${err}): the flag stays`;
const F_DONE = (dax: boolean, how: string, changed: boolean): string =>
  `on-disk DAX flag ${dax ? 'set' : 'cleared'}${how === 'now' ? `, S_DAX=${dax ? 1 : 0} at once` : how === 'on-reload' && changed ? ', I_DONTCACHE set: S_DAX follows on the next inode load' : ', S_DAX unchanged'}`;


export interface FlipNames {
  ioctl: string;
  setattr: string;
  invalidate: string;
  setflags: string;
}

/**
 * FS_IOC_FSSETXATTR changing the DAX flag (xfs_ioctl_setattr and ext4's
 * equivalent). With the 4.13 paths: if the DAX state changes, take IOLOCK
 * and MMAPLOCK exclusive, write back, invalidate the page cache and every
 * PTE, then set the on-disk flag and S_DAX together, and unlock. Existing
 * VMAs keep their flags. The designs change what is invalidated, whether a
 * mapped file refuses, and when S_DAX follows the on-disk flag.
 */
export function* setattr_dax(k: Kernel, n: FsNames, fl: FlipNames, t: Task, dax: boolean): Gen<number> {
  const d = k.design;
  const ip = k.inode;
  t.enter(fl.ioctl);
  t.enter(fl.setattr);
  let locked = false;
  const finish = function* (ret: number): Gen<number> {
    if (locked) yield* fs_unlock(k, t, IOLOCK | MMAPLOCK, true);
    return ret;
  };
  try {
    if (k.trace.enabled) k.trace.add(t, 'flip', F_IOCTL, dax);
    if (d.invalidateOnFlip) {
      t.enter(fl.invalidate);
      // "if the DAX state is not changing, we have nothing to do here"
      if (k.tick()) yield;
      const cur = k.isDax(t);
      if (cur !== dax) {
        yield* fs_lock(k, n, t, IOLOCK | MMAPLOCK, true);
        locked = true;
        if (d.refuseWhileMapped) {
          if (k.tick()) yield;
          if (ip.mapping.i_mmap.size > 0) {
            if (k.trace.enabled) k.trace.add(t, 'flip', F_REFUSE);
            if (k.onFlag) k.onFlag(t, 'refused', dax, ip.sDax, ip.sDax, 'EBUSY: the file is mapped');
            t.leave();
            return yield* finish(-16);
          }
        }
        let err = yield* filemap_write_and_wait(k, t);
        if (!err) err = yield* invalidate_inode_pages2(k, t);
        if (err) {
          if (k.trace.enabled) k.trace.add(t, 'flip', F_INVAL, err);
          if (k.onFlag) k.onFlag(t, 'refused', dax, ip.sDax, ip.sDax, `${err === -16 ? 'EBUSY' : `error ${-err}`}: the page cache could not be invalidated`);
          t.leave();
          return yield* finish(err);
        }
      }
      t.leave();
    }
    // the transaction: ILOCK, the on-disk flag, the in-core flags
    t.enter(fl.setflags);
    if (k.tick()) yield;
    const changed = ip.diskDax !== dax;
    const before = ip.sDax;
    ip.diskDax = dax;
    if (changed) k.flips++;
    if (d.sDaxUpdate === 'now') ip.sDax = dax;
    else if (d.sDaxUpdate === 'on-reload' && changed) ip.dontcache = true;
    if (k.trace.enabled) k.trace.add(t, 'flip', F_DONE, dax, d.sDaxUpdate, changed);
    if (changed && k.onFlag) k.onFlag(t, 'flip', dax, before, ip.sDax, d.sDaxUpdate);
    t.leave();
    return yield* finish(0);
  } finally {
    t.leave();
    t.leave();
  }
}
