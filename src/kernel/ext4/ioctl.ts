import type { Task } from '../../sched/task.js';
import type { Gen, Kernel } from '../core.js';
import { V4_14, V5_8 } from '../designs.js';
import { d_mark_dontcache } from '../fs/dcache.js';
import { down_write, up_write } from '../locks.js';
import { ext4_change_inode_journal_flag } from './inode.js';
import { F_REFUSE, refusal } from '../fs/refuse.js';

/**
 * fs/ext4/ioctl.c: the flag changes that reach S_DAX, by release.
 * 4.13 and 4.14 have no FS_XFLAG_DAX (FS_IOC_FSSETXATTR refuses unknown
 * flags with -EOPNOTSUPP; the 2017 per-inode flag for ext4 was a
 * proposal), but under -o dax `chattr +j/-j` switches S_DAX at runtime
 * through ext4_change_inode_journal_flag(); 4.14 refuses that with -EBUSY
 * (e9072d859df3). 5.8 brings EXT4_DAX_FL (b383a73f2b83) with the
 * don't-cache semantics of the 5.8 design.
 */

const F_SETFLAGS = (journal: boolean): string => `FS_IOC_SETFLAGS: ${journal ? 'set' : 'clear'} EXT4_JOURNAL_DATA_FL (chattr ${journal ? '+j' : '-j'})`;
const F_EBUSY = (): string => 'journalling-mode change under -o dax: EBUSY (4.14, e9072d859df3)';
const F_XATTR = (dax: boolean): string => `FS_IOC_FSSETXATTR: ${dax ? 'set' : 'clear'} FS_XFLAG_DAX`;
const F_NOTSUPP = (): string => 'FS_XFLAG_DAX: EOPNOTSUPP (no per-inode DAX flag on ext4 before 5.8)';
const F_DONTCACHE = (): string => 'ext4_dax_dontcache(): the flag changes, d_mark_dontcache(): I_DONTCACHE and DCACHE_DONTCACHE set';
const F_DONE = (dax: boolean): string => `on-disk DAX flag ${dax ? 'set' : 'cleared'} (EXT4_DAX_FL), S_DAX unchanged`;

/**
 * FS_IOC_SETFLAGS toggling EXT4_JOURNAL_DATA_FL: ext4_ioctl takes
 * inode_lock, ext4_ioctl_setflags changes the other flags (nothing for
 * S_DAX) and then, if the journal flag changes, ext4_change_inode_journal_flag
 * -- or, from 4.14 under -o dax, -EBUSY. refuse-mapped adds its EBUSY
 * after inode_lock.
 */
export function* ext4_ioctl_setflags_journal(k: Kernel, t: Task, journal: boolean): Gen<number> {
  t.enter('ext4_ioctl');
  try {
    const ip = k.inode;
    if (k.trace.enabled) k.trace.add(t, 'flip', F_SETFLAGS, journal);
    yield* down_write(k, t, ip.iolock, 'inode_lock');
    t.enter('ext4_ioctl_setflags');
    let err = 0;
    if (k.tick()) yield;
    if (ip.journalData !== journal) {
      if (k.v >= V4_14 && (k.mount === 'dax' || k.mount === 'always')) {
        // "Changes to the journaling mode can cause unsafe changes to S_DAX if we are using the DAX mount option."
        err = -16;
        if (k.trace.enabled) k.trace.add(t, 'flip', F_EBUSY);
      } else if (refusal(k)) {
        err = -16;
        if (k.trace.enabled) k.trace.add(t, 'flip', F_REFUSE, refusal(k)!);
      } else err = yield* ext4_change_inode_journal_flag(k, t, journal);
    }
    t.leave();
    yield* up_write(k, t, ip.iolock);
    return err;
  } finally {
    t.leave();
  }
}

/**
 * FS_IOC_FSSETXATTR with FS_XFLAG_DAX: -EOPNOTSUPP before 5.8. From 5.8,
 * under inode_lock, ext4_ioctl_setflags with EXT4_DAX_FL:
 * ext4_dax_dontcache() marks the inode and dentry don't-cache when the
 * flag changes under dax=inode; ext4_set_inode_flags(inode, false) leaves
 * S_DAX alone.
 */
export function* ext4_ioctl_fssetxattr(k: Kernel, t: Task, dax: boolean): Gen<number> {
  t.enter('ext4_ioctl');
  try {
    if (k.trace.enabled) k.trace.add(t, 'flip', F_XATTR, dax);
    if (k.v < V5_8) {
      if (k.tick()) yield;
      if (k.trace.enabled) k.trace.add(t, 'flip', F_NOTSUPP);
      return -95;
    }
    const ip = k.inode;
    yield* down_write(k, t, ip.iolock, 'inode_lock');
    t.enter('ext4_ioctl_setflags');
    if (k.tick()) yield;
    const changed = ip.diskDax !== dax;
    if (changed) {
      if (k.mount !== 'always' && k.mount !== 'never') {
        d_mark_dontcache(k);
        if (k.trace.enabled) k.trace.add(t, 'flip', F_DONTCACHE);
      }
      k.flips++;
    }
    ip.diskDax = dax;
    if (changed && k.onFlag) k.onFlag(t, 'flip', dax, ip.sDax, ip.sDax, 'on-reload');
    if (k.trace.enabled) k.trace.add(t, 'flip', F_DONE, dax, 'on-reload', changed);
    t.leave();
    yield* up_write(k, t, ip.iolock);
    return 0;
  } finally {
    t.leave();
  }
}

/** The flipper's chattr on ext4: before 5.8 the journal flag (DAX wanted = no journalling), from 5.8 FS_XFLAG_DAX. */
export function ext4_chattr(k: Kernel, t: Task, dax: boolean): Gen<number> {
  return k.v < V5_8 ? ext4_ioctl_setflags_journal(k, t, !dax) : ext4_ioctl_fssetxattr(k, t, dax);
}

/** What the flipper's GET reads: FS_IOC_GETFLAGS' journal flag before 5.8 (DAX wanted when clear), FS_XFLAG_DAX from 5.8. */
export function ext4_chattr_wants_dax(k: Kernel): boolean {
  return k.v < V5_8 ? !k.inode.journalData : k.inode.diskDax;
}
