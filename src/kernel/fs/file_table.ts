import type { Task } from '../../sched/task.js';
import type { File, Gen, Kernel } from '../core.js';
import { dput } from './dcache.js';

/** get_file(): another reference to an open file (a VMA's vm_file). */
export function get_file(f: File): void {
  f.f_count++;
}

/**
 * fput() (fs/file_table.c): drop a reference to an open file; the last one
 * runs __fput, which drops the file's dentry (dput). close(2) and munmap
 * of the last mapping both end here.
 */
export function* fput(k: Kernel, t: Task, f: File): Gen<void> {
  if (--f.f_count > 0) return;
  t.enter('__fput');
  try {
    yield* dput(k, t, f.dentry);
  } finally {
    t.leave();
  }
}
