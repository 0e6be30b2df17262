import { Sleep, type Gen, type Task } from '../sched/task.js';
import type { Prng } from '../sched/strategy.js';
import type { Feature, FsxFile, Mapping, OpenFlags } from '../fsx/file.js';
import { RWF_DONTCACHE } from '../fsx/ops.js';
import { Kernel, PAGE_SIZE, type File, type Vma } from './core.js';
import { drop_caches_sysctl_handler } from './fs/drop_caches.js';
import { fput } from './fs/file_table.js';
import { do_filp_open } from './fs/namei.js';
import { vfs_statx, type Statx } from './fs/stat.js';
import { fileContents, filemap_write_and_wait_range } from './mm/filemap.js';
import { do_mmap, do_munmap } from './mm/mmap.js';
import { user_copy } from './mm/memory.js';
import { invalidate_mapping_pages } from './mm/truncate.js';
import { check_sdax_after_reopen } from './sdaxcheck.js';
import { V5_8 } from './designs.js';
import { MODEL_REFLINK, cloneErrno, dedupeStatus, exchangeErrno, fallocateErrno, probeErrno, rwfErrno, type Platform } from './features.js';

const F_PREAD = (len: number, off: number): string => `pread(${len} bytes at ${off})`;
const F_PWRITE = (len: number, off: number): string => `pwrite(${len} bytes at ${off})`;
const F_TRUNC = (size: number): string => `ftruncate(${size})`;
const F_FALLOC = (mode: number, len: number, off: number): string => `fallocate(mode ${mode}, ${len} bytes at ${off})`;
const F_COPY = (len: number, off: number, dest: number): string => `copy_file_range(${len} bytes from ${off} to ${dest})`;
const F_MMAP = (len: number, off: number, w: boolean): string => `mmap(${len} bytes at ${off}, ${w ? 'PROT_READ|PROT_WRITE' : 'PROT_READ'}, MAP_SHARED)`;
const F_MEMCPY = (len: number): string => `memcpy into the mapping (${len} bytes)`;
const F_CLOSE = (): string => 'close()';
const F_OPEN = (): string => 'open()';

interface ModelMapping extends Mapping {
  vma: Vma;
}

/**
 * The fsx task's system calls into the model: each fsx operation becomes
 * the calls a real fsx makes, entering the kernel at the same places. When
 * fsx's close/open reopens the file, the S_DAX-after-close check runs
 * (sdaxcheck.ts).
 */
export class ModelFile implements FsxFile {
  private direct = false;
  private file: File | null = null;
  /** k.freeSeq when fsx last closed the file; -1 while it is open. */
  private freeSeqAtClose = -1;

  constructor(
    readonly k: Kernel,
    readonly t: Task,
  ) {}

  /** The kernel and file system the file lives on, for what they refuse (features.ts). */
  private platform(): Platform {
    const k = this.k;
    return { fs: k.fs.name, base: k.design.base, reflink: MODEL_REFLINK, dax: k.inode.sDax };
  }

  *probe(feature: Feature, mode?: number): Gen<number> {
    return probeErrno(this.platform(), feature, mode);
  }

  private *syscall<T>(name: string, body: Gen<T>): Gen<T> {
    const t = this.t;
    t.enter('entry_SYSCALL_64_fastpath');
    t.enter(name);
    try {
      return yield* body;
    } finally {
      t.leave();
      t.leave();
    }
  }

  *open(flags: OpenFlags): Gen<number> {
    const k = this.k;
    this.direct = flags.direct;
    if (k.trace.enabled) k.trace.add(this.t, 'syscall', F_OPEN);
    this.file = yield* this.syscall('SyS_open', do_filp_open(k, this.t));
    if (this.freeSeqAtClose >= 0) yield* this.syscall('SyS_statx', check_sdax_after_reopen(k, this.t, this.freeSeqAtClose));
    this.freeSeqAtClose = -1;
    return 0;
  }

  *close(): Gen<number> {
    const f = this.file;
    if (!f) return -9;
    this.file = null;
    const k = this.k;
    if (k.trace.enabled) k.trace.add(this.t, 'syscall', F_CLOSE);
    this.freeSeqAtClose = k.freeSeq;
    yield* this.syscall('SyS_close', fput(k, this.t, f));
    return 0;
  }

  /**
   * What the check at the next open depends on from fsx's last close, for
   * explore's state key: -1 while the file is open, 1 when the file has
   * been free to be evicted since fsx closed it, 0 when not.
   */
  closedState(): number {
    if (this.freeSeqAtClose < 0) return -1;
    return this.k.freeSeq > this.freeSeqAtClose ? 1 : 0;
  }

  /** fsx's -c: `echo 3 > /proc/sys/vm/drop_caches` (what the kernel's closeOpenDrop says; 0: fsx before 2020, none). */
  *dropCaches(): Gen<number> {
    const v = this.k.closeOpenDrop;
    if (v) yield* this.syscall('SyS_write', drop_caches_sysctl_handler(this.k, this.t, v));
    return 0;
  }

  *size(): Gen<number> {
    if (this.k.tick()) yield;
    return this.k.inode.i_size;
  }

  /** statx(2) on the open file. */
  *statx(): Gen<Statx> {
    return yield* this.syscall('SyS_statx', vfs_statx(this.k, this.t));
  }

  /** RWF_DONTCACHE: once the I/O is done, write back and drop the cached pages of the range. */
  private *dontcache(off: number, len: number): Gen<void> {
    const k = this.k;
    yield* filemap_write_and_wait_range(k, this.t, off, off + len - 1);
    yield* invalidate_mapping_pages(k, this.t, Math.floor(off / PAGE_SIZE), Math.floor((off + len - 1) / PAGE_SIZE));
  }

  *pread(dst: Uint8Array, dstOff: number, len: number, off: number, rwf: number): Gen<number> {
    const k = this.k;
    if (k.trace.enabled) k.trace.add(this.t, 'syscall', F_PREAD, len, off);
    const bad = rwf && rwfErrno(this.platform(), rwf);
    if (bad) return -bad;
    const r = yield* this.syscall('SyS_pread64', k.fs.read_iter(k, this.t, dst, dstOff, len, off, this.direct));
    if (rwf & RWF_DONTCACHE) yield* this.dontcache(off, len);
    return r;
  }

  *pwrite(src: Uint8Array, srcOff: number, len: number, off: number, rwf: number): Gen<number> {
    const k = this.k;
    if (k.trace.enabled) k.trace.add(this.t, 'syscall', F_PWRITE, len, off);
    const bad = rwf && rwfErrno(this.platform(), rwf);
    if (bad) return -bad;
    const r = yield* this.syscall('SyS_pwrite64', k.fs.write_iter(k, this.t, src, srcOff, len, off, this.direct));
    if (rwf & RWF_DONTCACHE) yield* this.dontcache(off, len);
    return r;
  }

  *ftruncate(size: number): Gen<number> {
    if (this.k.trace.enabled) this.k.trace.add(this.t, 'syscall', F_TRUNC, size);
    return yield* this.syscall('SyS_ftruncate', this.k.fs.setattr_size(this.k, this.t, size));
  }

  *fallocate(mode: number, off: number, len: number): Gen<number> {
    if (this.k.trace.enabled) this.k.trace.add(this.t, 'syscall', F_FALLOC, mode, len, off);
    const bad = fallocateErrno(this.platform(), mode);
    if (bad) return -bad;
    return yield* this.syscall('SyS_fallocate', this.k.fs.fallocate(this.k, this.t, mode, off, len));
  }

  *copyFileRange(off: number, dest: number, len: number): Gen<number> {
    if (this.k.trace.enabled) this.k.trace.add(this.t, 'syscall', F_COPY, len, off, dest);
    return yield* this.syscall('SyS_copy_file_range', this.k.fs.remap(this.k, this.t, 'copy', off, len, dest));
  }

  *cloneRange(off: number, len: number, dest: number): Gen<number> {
    const bad = cloneErrno(this.platform());
    if (bad) return -bad;
    return yield* this.syscall('SyS_ioctl', this.k.fs.remap(this.k, this.t, 'clone', off, len, dest));
  }

  *dedupeRange(off: number, len: number, dest: number): Gen<number> {
    const bad = dedupeStatus(this.platform());
    if (bad) return -bad;
    return yield* this.syscall('SyS_ioctl', this.k.fs.remap(this.k, this.t, 'dedupe', off, len, dest));
  }

  *exchangeRange(off: number, len: number, dest: number): Gen<number> {
    const bad = exchangeErrno(this.platform());
    if (bad) return -bad;
    return yield* this.syscall('SyS_ioctl', this.k.fs.remap(this.k, this.t, 'exchange', off, len, dest));
  }

  *fsync(): Gen<number> {
    return yield* this.syscall('SyS_fsync', this.k.fs.fsync(this.k, this.t, 0, Number.MAX_SAFE_INTEGER));
  }

  *mmap(off: number, len: number, writable: boolean): Gen<Mapping | number> {
    if (!this.file) return -9;
    if (this.k.trace.enabled) this.k.trace.add(this.t, 'syscall', F_MMAP, len, off, writable);
    const vma = yield* this.syscall('SyS_mmap', do_mmap(this.k, this.t, this.file, off, len, writable));
    const m: ModelMapping = { pgoff: off, length: len, vma };
    return m;
  }

  *mapRead(m: Mapping, at: number, dst: Uint8Array, dstOff: number, len: number): Gen<number> {
    return yield* user_copy(this.k, this.t, (m as ModelMapping).vma, at, dst, dstOff, len, false);
  }

  *mapWrite(m: Mapping, at: number, src: Uint8Array, srcOff: number, len: number): Gen<number> {
    if (this.k.trace.enabled) this.k.trace.add(this.t, 'syscall', F_MEMCPY, len);
    return yield* user_copy(this.k, this.t, (m as ModelMapping).vma, at, src, srcOff, len, true);
  }

  /** msync(MS_SYNC): vfs_fsync_range over the mapping's range; its error (-EIO from DAX writeback) comes back. */
  *msync(m: Mapping, sync: boolean): Gen<number> {
    if (!sync) return 0; // MS_INVALIDATE alone does nothing for a shared file mapping
    const start = m.pgoff;
    return yield* this.syscall('SyS_msync', this.k.fs.fsync(this.k, this.t, start, start + m.length - 1));
  }

  *munmap(m: Mapping): Gen<number> {
    yield* this.syscall('SyS_munmap', do_munmap(this.k, this.t, (m as ModelMapping).vma));
    return 0;
  }

  contents(): Uint8Array {
    return fileContents(this.k);
  }
}

const F_GET = (wants: boolean, ext4old: boolean): string =>
  ext4old ? `FS_IOC_GETFLAGS: EXT4_JOURNAL_DATA_FL ${wants ? 'clear' : 'set'}` : `FS_IOC_FSGETXATTR: FS_XFLAG_DAX ${wants ? 'set' : 'clear'}`;

/**
 * One run of the seed's shell loop (`xfs_io -c 'chattr +x'` / `-x`; on ext4
 * before 5.8, which has no per-file DAX flag, `chattr -j` / `+j`): open the
 * file, read the flag, toggle it, close. Returns the ioctl's result.
 */
export function* flipOnce(k: Kernel, t: Task): Gen<number> {
  t.enter('entry_SYSCALL_64_fastpath');
  t.enter('SyS_open');
  const f = yield* do_filp_open(k, t);
  t.leave();
  t.enter('SyS_ioctl');
  t.enter(k.fs.name === 'xfs' ? 'xfs_ioc_fsgetxattr' : 'ext4_ioctl');
  if (k.tick()) yield;
  const wants = k.fs.chattrWantsDax(k);
  if (k.trace.enabled) k.trace.add(t, 'flip', F_GET, wants, k.fs.name === 'ext4' && k.v < V5_8);
  t.leave();
  const r = yield* k.fs.chattr(k, t, !wants);
  t.leave();
  t.enter('SyS_close');
  yield* fput(k, t, f);
  t.leave();
  t.leave();
  return r;
}

/** The seed's shell loop: flips forever, with a spell in user space (starting xfs_io) between them. */
export function* flipperTask(k: Kernel, t: Task, rnd: Prng, meanInterval: number, clock: { step: number }, results: { ok: number; busy: number }): Gen<void> {
  for (;;) {
    if (meanInterval > 0) yield new Sleep(clock, clock.step + 1 + Math.floor(-Math.log(1 - rnd()) * meanInterval));
    const r = yield* flipOnce(k, t);
    if (r === 0) results.ok++;
    else results.busy++;
  }
}
