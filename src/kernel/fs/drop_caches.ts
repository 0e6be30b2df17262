import { Sleep, type Task } from '../../sched/task.js';
import type { Prng } from '../../sched/strategy.js';
import type { Gen, Kernel } from '../core.js';
import { invalidate_mapping_pages } from '../mm/truncate.js';
import { prune_dcache_sb } from './dcache.js';
import { iput, prune_icache_sb } from './inode.js';

/**
 * fs/drop_caches.c: `echo 1|2|3 > /proc/sys/vm/drop_caches`. 1 drops the
 * page cache (drop_pagecache_sb: each inode with pages, held for the
 * moment, invalidate_mapping_pages: clean, unmapped pages only); 2 drops
 * the slab caches (drop_slab: unused dentries, then unused clean inodes,
 * which are evicted); 3 does both.
 */
export function* drop_caches_sysctl_handler(k: Kernel, t: Task, value: number): Gen<void> {
  t.enter('drop_caches_sysctl_handler');
  try {
    if (k.tick()) yield;
    const ip = k.inode;
    if (value & 1) {
      t.enter('drop_pagecache_sb');
      if (!ip.evicted && !ip.freeing && !ip.willFree && ip.mapping.nrpages > 0) {
        ip.refs++; // __iget
        ip.onLru = false;
        yield* invalidate_mapping_pages(k, t, 0, ip.nblocks);
        yield* iput(k, t);
      }
      t.leave();
    }
    if (value & 2) {
      t.enter('drop_slab');
      yield* prune_dcache_sb(k, t);
      yield* prune_icache_sb(k, t);
      t.leave();
    }
  } finally {
    t.leave();
  }
}

/**
 * A shell loop writing `value` to /proc/sys/vm/drop_caches every
 * `meanInterval` steps on average (comm "bash": echo is a builtin).
 */
export function* dropCachesTask(k: Kernel, t: Task, rnd: Prng, value: number, meanInterval: number, clock: { step: number }): Gen<void> {
  for (;;) {
    yield new Sleep(clock, clock.step + 1 + Math.floor(-Math.log(1 - rnd()) * meanInterval));
    t.enter('entry_SYSCALL_64_fastpath');
    t.enter('SyS_write');
    try {
      yield* drop_caches_sysctl_handler(k, t, value);
    } finally {
      t.leave();
      t.leave();
    }
  }
}
