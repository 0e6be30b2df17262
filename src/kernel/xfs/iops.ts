import type { Kernel } from '../core.js';
import { V5_8 } from '../designs.js';

/**
 * S_DAX as XFS sets it when the inode is loaded (xfs_setup_inode).
 * 4.13/4.14 xfs_diflags_to_iflags() (xfs_iops.c:1184 in 4.13): a regular,
 * non-reflinked file with a page-sized block is DAX if the mount has
 * `-o dax` or the inode has XFS_DIFLAG2_DAX. 5.8 xfs_inode_should_enable_dax():
 * dax=never no, dax=always yes, dax=inode the flag.
 */
export function xfs_diflags_to_iflags(k: Kernel): boolean {
  if (k.v < V5_8) return k.mount === 'dax' || k.inode.diskDax;
  if (k.mount === 'never') return false;
  if (k.mount === 'always') return true;
  return k.inode.diskDax;
}
