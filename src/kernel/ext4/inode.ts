import type { Task } from '../../sched/task.js';
import type { Gen, Kernel } from '../core.js';
import { V5_8 } from '../designs.js';
import { down_write, up_write } from '../locks.js';
import { filemap_write_and_wait } from '../mm/filemap.js';
import { dax_update_vmas } from '../mm/mmap.js';

/**
 * fs/ext4/inode.c: when an ext4 inode is DAX, and the data-journalling
 * switch that, before 4.14, changed S_DAX at runtime.
 */

const F_JFLAG = (on: boolean, dax: boolean): string => `on-disk journal flag ${on ? 'set (chattr +j)' : 'cleared (chattr -j)'}, ext4_set_inode_flags(): S_DAX=${dax ? 1 : 0} at once`;

/**
 * ext4_should_use_dax() (4.13, 4.14): -o dax, a regular file, no data
 * journalling (and no inline data or encryption, not modelled).
 * ext4_should_enable_dax() (5.8): dax=never no; data journalling no;
 * dax=always yes; dax=inode EXT4_DAX_FL.
 */
export function ext4_should_use_dax(k: Kernel): boolean {
  const ip = k.inode;
  if (k.v < V5_8) return k.mount === 'dax' && !ip.journalData;
  if (k.mount === 'never' || ip.journalData) return false;
  if (k.mount === 'always') return true;
  return ip.diskDax;
}

/**
 * ext4_change_inode_journal_flag() (4.13): for +j, i_mmap_sem exclusive
 * and filemap_write_and_wait first; then s_journal_flag_rwsem exclusive
 * (ext4_writepages waits), the journal locked (and flushed for -j), the
 * flag changed, ext4_set_aops and ext4_set_inode_flags -- which sets S_DAX
 * from ext4_should_use_dax(), so under -o dax S_DAX flips here. Nothing is
 * invalidated or unmapped: DAX entries and PTEs of a DAX inode that turns
 * journalled stay, page-cache pages of an inode that turns DAX stay.
 * Called under inode_lock.
 */
export function* ext4_change_inode_journal_flag(k: Kernel, t: Task, val: boolean): Gen<number> {
  t.enter('ext4_change_inode_journal_flag');
  try {
    const ip = k.inode;
    if (val) {
      yield* down_write(k, t, ip.mmaplock, 'ext4_change_inode_journal_flag');
      const err = yield* filemap_write_and_wait(k, t);
      if (err < 0) {
        yield* up_write(k, t, ip.mmaplock);
        return err;
      }
    }
    yield* down_write(k, t, k.journalFlagSem, 'percpu_down_write');
    if (k.tick()) yield; // jbd2_journal_lock_updates(), jbd2_journal_flush() for -j
    const changed = ip.journalData !== val;
    if (changed) k.flips++;
    ip.journalData = val;
    // ext4_set_aops(); ext4_set_inode_flags(): "S_DAX may get cleared / set"
    const before = ip.sDax;
    ip.sDax = ext4_should_use_dax(k);
    if (changed && k.onFlag) k.onFlag(t, 'flip', !val, before, ip.sDax, 'now');
    if (k.trace.enabled) k.trace.add(t, 'flip', F_JFLAG, val, ip.sDax, changed);
    if (changed && k.design.updateVmas === 'under-locks') yield* dax_update_vmas(k, t);
    yield* up_write(k, t, k.journalFlagSem);
    if (val) yield* up_write(k, t, ip.mmaplock);
    if (changed && k.design.updateVmas === 'after-mmaplock') yield* dax_update_vmas(k, t);
    return 0;
  } finally {
    t.leave();
  }
}
