import type { Kernel } from '../core.js';

/**
 * The EBUSY checks a design adds to the flag change in the 4.13/4.14 ioctls
 * (xfs_ioctl_setattr_dax_invalidate, ext4_ioctl_setflags), with the inode
 * locked; in no release (Ross Zwisler's unmerged Sep 2017 series refused
 * while mapped): mapping_mapped(), or an open file besides the caller's
 * (the dentry counts one reference per open file; a VMA keeps its file open).
 */
export function refusal(k: Kernel): string | null {
  if (k.design.refuseWhileMapped && k.inode.mapping.i_mmap.size > 0) return 'the file is mapped';
  if (k.design.refuseWhileOpen && (k.dentry?.count ?? 0) > 1) return 'the file is open elsewhere';
  return null;
}

/** The refusal as the flip's trace line says it: the check that refused. */
export const F_REFUSE = (why: string): string => `${why === 'the file is mapped' ? 'mapping_mapped()' : 'another open file'}: refuse with EBUSY`;
