import type { Task } from '../../sched/task.js';
import type { Gen, Kernel } from '../core.js';
import { V5_11, V5_8 } from '../designs.js';

/**
 * statx(2)'s answer for the test file (fs/stat.c vfs_getattr_nosec): its
 * size, and from 5.8 (712b2698e4c0) STATX_ATTR_DAX when IS_DAX. The bit
 * was 0x2000 in 5.8, the value of STATX_ATTR_MOUNT_ROOT too; 72d1249e2ffd
 * (Dec 2020) moved it to 0x00200000. 4.13 and 4.14 have no such attribute.
 */
export interface Statx {
  size: number;
  attributes: number;
  attributes_mask: number;
}

/** STATX_ATTR_DAX of a release, 0 where it has none. */
export function statxAttrDax(v: number): number {
  if (v < V5_8) return 0;
  return v < V5_11 ? 0x2000 : 0x00200000;
}

/** vfs_statx() -> vfs_getattr_nosec() (fs/stat.c): size and attributes. */
export function* vfs_statx(k: Kernel, t: Task): Gen<Statx> {
  t.enter('vfs_statx');
  try {
    if (k.tick()) yield;
    const bit = statxAttrDax(k.v);
    const dax = bit !== 0 && k.isDax(t);
    return { size: k.isize(), attributes: dax ? bit : 0, attributes_mask: bit };
  } finally {
    t.leave();
  }
}
