import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, VM, VM_FAULT, type FsType, type Vma, type VmOps, type Vmf } from '../core.js';
import { dax_iomap_fault, dax_pfn_mkwrite } from '../fs/dax.js';
import { MMAPLOCK, fallocate, fs_lock, fs_unlock, fsync, read_iter, remap, setattr_size, write_iter, type FsNames } from '../fs/generic.js';
import { iomap_page_mkwrite } from '../fs/iomap.js';
import { setattr_dax, type FlipNames } from '../fs/ioctl.js';
import { filemap_fault } from '../mm/filemap.js';


const N: FsNames = {
  read_iter: 'xfs_file_read_iter',
  dax_read: 'xfs_file_dax_read',
  buffered_read: 'xfs_file_buffered_aio_read',
  dio_read: 'xfs_file_dio_aio_read',
  write_iter: 'xfs_file_write_iter',
  dax_write: 'xfs_file_dax_write',
  buffered_write: 'xfs_file_buffered_aio_write',
  dio_write: 'xfs_file_dio_aio_write',
  setattr: 'xfs_vn_setattr',
  setattr_size: 'xfs_setattr_size',
  fallocate: 'xfs_file_fallocate',
  remap: 'xfs_file_copy_range',
  fsync: 'xfs_file_fsync',
  iolock: 'xfs_ilock',
  mmaplock: 'xfs_ilock',
};

const FLIP: FlipNames = {
  ioctl: 'xfs_file_ioctl',
  setattr: 'xfs_ioctl_setattr',
  invalidate: 'xfs_ioctl_setattr_dax_invalidate',
  setflags: 'xfs_ioctl_setattr_xflags',
};

/**
 * xfs_filemap_page_mkwrite(): MMAPLOCK shared, then IS_DAX picks
 * dax_iomap_fault or iomap_page_mkwrite (which uses vmf->page).
 */
function* xfs_filemap_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_page_mkwrite');
  try {
    if (k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const ret = k.isDax(t) ? yield* dax_iomap_fault(k, t, vmf) : yield* iomap_page_mkwrite(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * xfs_filemap_fault(): "DAX can shortcut the normal fault path on write
 * faults" — a write fault on a DAX inode (IS_DAX tested with no lock held)
 * goes straight to xfs_filemap_page_mkwrite with vmf->page still NULL.
 * Otherwise MMAPLOCK shared, and IS_DAX picks the DAX or page-cache fault.
 * With decideUnderLock the shortcut is gone: the test is made under MMAPLOCK.
 */
function* xfs_filemap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_fault');
  try {
    if (vmf.write && !k.design.decideUnderLock) {
      if (k.tick()) yield;
      if (k.isDax(t)) return yield* xfs_filemap_page_mkwrite(k, t, vmf);
    }
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const ret = k.isDax(t) ? yield* dax_iomap_fault(k, t, vmf) : yield* filemap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** xfs_filemap_pfn_mkwrite(): a write to a read-only DAX PTE. */
function* xfs_filemap_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_pfn_mkwrite');
  try {
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const size = Math.ceil(k.isize() / PAGE_SIZE);
    let ret: number = VM_FAULT.NOPAGE;
    if (vmf.pgoff >= size) ret = VM_FAULT.SIGBUS;
    else {
      if (k.tick()) yield;
      if (k.isDax(t)) ret = yield* dax_pfn_mkwrite(k, t, vmf);
    }
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

export const xfs_file_vm_ops: VmOps = {
  name: 'xfs_file_vm_ops',
  fault: xfs_filemap_fault,
  page_mkwrite: xfs_filemap_page_mkwrite,
  pfn_mkwrite: xfs_filemap_pfn_mkwrite,
};

/** xfs_file_mmap(): one set of vm_ops; a DAX inode adds VM_MIXEDMAP | VM_HUGEPAGE. */
function* xfs_file_mmap(k: Kernel, t: Task, vma: Vma): Gen<number> {
  t.enter('xfs_file_mmap');
  try {
    vma.vm_ops = xfs_file_vm_ops;
    if (k.tick()) yield;
    if (k.isDax(t)) vma.vm_flags |= VM.MIXEDMAP | VM.HUGEPAGE;
    return 0;
  } finally {
    t.leave();
  }
}

export const XFS: FsType = {
  name: 'xfs',
  lockNames: ['IOLOCK', 'MMAPLOCK'],
  read_iter: (k, t, dst, dstOff, len, pos, direct) => read_iter(k, N, t, dst, dstOff, len, pos, direct),
  write_iter: (k, t, src, srcOff, len, pos, direct) => write_iter(k, N, t, src, srcOff, len, pos, direct),
  mmap: xfs_file_mmap,
  setattr_size: (k, t, size) => setattr_size(k, N, t, size),
  fallocate: (k, t, mode, off, len) => fallocate(k, N, t, mode, off, len),
  remap: (k, t, kind, off, len, dest) => remap(k, N, t, kind, off, len, dest),
  fsync: (k, t, start, end) => fsync(k, N, t, start, end),
  setxattr_dax: (k, t, dax) => setattr_dax(k, N, FLIP, t, dax),
};

