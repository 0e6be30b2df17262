import { Sleep, type Task } from '../../sched/task.js';
import type { Prng } from '../../sched/strategy.js';
import type { Gen, Kernel } from '../core.js';
import { CondWait } from '../locks.js';
import { inodeDirty } from './inode.js';

/**
 * fs/fs-writeback.c: writing one inode back (writeback_single_inode with
 * I_SYNC held) and the flusher thread's background writeback.
 */

const F_BG = (): string => 'background writeback of the inode (WB_SYNC_NONE)';

/** inode_wait_for_writeback() (fs/fs-writeback.c, 4.13–5.11): wait while the inode is under writeback (I_SYNC). */
export function* inode_wait_for_writeback(k: Kernel, t: Task): Gen<void> {
  const ip = k.inode;
  if (!ip.sync) return;
  const w = new CondWait(() => !ip.sync, 'writeback of the inode (I_SYNC)');
  t.enter('inode_wait_for_writeback');
  while (ip.sync) yield w;
  t.leave();
}

/**
 * write_inode_now(inode, 1): writeback_single_inode() with WB_SYNC_ALL,
 * waiting for writeback already in flight first.
 */
export function* write_inode_now(k: Kernel, t: Task): Gen<number> {
  t.enter('write_inode_now');
  try {
    const ip = k.inode;
    yield* inode_wait_for_writeback(k, t);
    ip.sync = true;
    try {
      return yield* k.fs.writepages(k, t, 0, Number.MAX_SAFE_INTEGER, true);
    } finally {
      ip.sync = false;
    }
  } finally {
    t.leave();
  }
}

/**
 * The flusher (wb_workfn -> wb_writeback -> writeback_sb_inodes), waking
 * every `meanInterval` steps on average: a dirty inode that is not being
 * evicted or written already gets ->writepages with WB_SYNC_NONE. For a
 * page-cache mapping that writes the dirty pages it can lock without
 * waiting; dax_writeback_mapping_range() does nothing for WB_SYNC_NONE.
 * The kernel's default is every 5 s (5,000,000 steps); no inode lock is
 * taken.
 */
export function* flusherTask(k: Kernel, t: Task, rnd: Prng, meanInterval: number, clock: { step: number }): Gen<void> {
  for (;;) {
    yield new Sleep(clock, clock.step + 1 + Math.floor(-Math.log(1 - rnd()) * meanInterval));
    const ip = k.inode;
    if (ip.evicted || ip.freeing || ip.willFree || ip.sync || !inodeDirty(k)) continue;
    t.enter('wb_workfn');
    t.enter('writeback_sb_inodes');
    t.enter('__writeback_single_inode');
    try {
      if (k.trace.enabled) k.trace.add(t, 'note', F_BG);
      ip.sync = true;
      yield* k.fs.writepages(k, t, 0, Number.MAX_SAFE_INTEGER, false);
    } finally {
      ip.sync = false;
      t.leave();
      t.leave();
      t.leave();
    }
  }
}
