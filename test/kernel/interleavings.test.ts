import { describe, expect, it } from 'vitest';
import type { DesignName } from '../../src/kernel/designs.js';
import { KernelPanic, VM_FAULT, type Kernel, type VmOps } from '../../src/kernel/core.js';
import { IOLOCK, MMAPLOCK, fs_lock, fs_unlock } from '../../src/kernel/fs/generic.js';
import { buildMachine, flipperTaskFor, type Machine } from '../../src/kernel/machine.js';
import { FaultLoop } from '../../src/kernel/mm/memory.js';
import { HungTask } from '../../src/sched/scheduler.js';
import { PlanStrategy, type PlanStep } from '../../src/sched/plan.js';
import type { Task } from '../../src/sched/task.js';
import type { Mapping } from '../../src/fsx/file.js';
import { ext4OldVmaStore } from './play.js';

/**
 * Hand-built interleavings: the fsx task's system calls and one flip,
 * ordered by a script, reaching each kind of failure through the model's
 * locks, flags, VMAs and checks. The same scripts run against the designs
 * that must be clean.
 */

type Body = (m: Machine) => Generator<unknown, void, unknown>;

interface Setup {
  fs?: 'xfs' | 'ext4';
  kernel?: DesignName;
  initialDax?: boolean;
  panicOnWarn?: boolean;
}

/** Run `fsxBody` and a one-flip task under a script built from the machine. */
function play(setup: Setup, fsxBody: Body, flipTo: boolean, script: (m: Machine, flipper: Task) => PlanStep[]): { m: Machine; error: unknown } {
  const m = buildMachine({ ...setup, trace: true });
  const flipper = flipperTaskFor(0);
  m.sched.strategy = new PlanStrategy(script(m, flipper), [m.fsx, flipper]);
  m.sched.add(
    m.fsx,
    (function* () {
      yield* m.file.open({ direct: false });
      yield* fsxBody(m);
    })(),
  );
  m.sched.add(
    flipper,
    (function* () {
      yield* m.k.fs.chattr(m.k, flipper, flipTo);
    })(),
  );
  let error: unknown = null;
  try {
    m.sched.run(m.fsx);
  } catch (e) {
    error = e;
  }
  return { m, error };
}

/** fsx has read IS_DAX() in this function (the trace says so). */
const readDaxIn = (k: Kernel, fn: string, after = 0) => (): boolean =>
  k.trace.since(after).some((e) => e.kind === 'isdax' && e.pid === 6052 && e.text.endsWith(` in ${fn}`));
const flipped = (k: Kernel) => (): boolean => k.flips > 0;
const vmaSetUp = (k: Kernel) => (): boolean => k.trace.since(0).some((e) => e.kind === 'vma' && e.text.startsWith('->mmap'));

const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

/** Write 8 KiB, map it, store into the first page. */
const mapWriteBody: Body = function* (m) {
  const f = m.file;
  yield* f.pwrite(filled(8192, 1), 0, 8192, 0, 0);
  const map = (yield* f.mmap(0, 8192, true)) as Mapping;
  const rc = yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
  if (rc < 0) throw new Error(`SIGBUS ${rc}`);
  yield* f.munmap(map);
};

describe("the seed's NULL pointer dereference", () => {
  const seedScript = (m: Machine, flipper: Task): PlanStep[] => [
    // fsx runs until its write fault has taken the DAX shortcut (IS_DAX read with no lock)
    { task: m.fsx, until: readDaxIn(m.k, 'xfs_filemap_fault') },
    // the whole flip: S_DAX cleared under IOLOCK and MMAPLOCK
    { task: flipper, until: flipped(m.k) },
  ];

  it('immediate on XFS: iomap_page_mkwrite locks a NULL vmf->page', () => {
    const { error } = play({ kernel: 'immediate' }, mapWriteBody, false, seedScript);
    expect(error).toBeInstanceOf(KernelPanic);
    const p = error as KernelPanic;
    expect(p.kind).toBe('oops');
    expect(p.func).toBe('iomap_page_mkwrite');
    expect(p.where).toBe('0000000000000020');
    expect(p.frames.slice(-4)).toEqual(['__do_fault', 'xfs_filemap_fault', 'xfs_filemap_page_mkwrite', 'iomap_page_mkwrite']);
  });

  for (const kernel of ['locked', 'refuse-mapped', 'ignored', 'deferred'] as const) {
    it(`${kernel}: the same interleaving cannot happen or does no harm`, () => {
      const { error, m } = play({ kernel }, mapWriteBody, false, seedScript);
      expect(error).toBeNull();
      expect(m.fsx.done).toBe(true);
    });
  }
});

describe('vm_insert_mixed on a VMA set up without VM_MIXEDMAP', () => {
  const script = (m: Machine, flipper: Task): PlanStep[] => [
    // fsx's ->mmap runs while the inode is not DAX
    { task: m.fsx, until: vmaSetUp(m.k) },
    // then the flag is set
    { task: flipper, until: flipped(m.k) },
  ];

  for (const kernel of ['immediate', 'locked', 'refuse-mapped'] as const) {
    it(`${kernel}: a DAX fault in the old VMA hits the BUG`, () => {
      const { error } = play({ kernel, initialDax: false }, mapWriteBody, true, script);
      expect(error).toBeInstanceOf(KernelPanic);
      const p = error as KernelPanic;
      expect(p.kind).toBe('bug');
      expect(p.func).toBe('vm_insert_mixed');
      expect(p.where).toMatch(/^mm\/memory\.c:\d+$/);
    });
  }

  it('refuse-mapped: once the VMA is linked the flip is refused', () => {
    const { error, m } = play({ kernel: 'refuse-mapped', initialDax: false }, mapWriteBody, true, (mm, flipper) => [
      { task: mm.fsx, until: () => mm.k.inode.mapping.i_mmap.size > 0 },
      { task: flipper, until: () => flipper.done },
    ]);
    expect(error).toBeNull();
    expect(m.k.flips).toBe(0);
  });

  for (const kernel of ['ignored', 'deferred'] as const) {
    it(`${kernel}: clean`, () => {
      const { error } = play({ kernel, initialDax: false }, mapWriteBody, true, script);
      expect(error).toBeNull();
    });
  }
});

// a page-cache page where a DAX entry must be: by release, in dax-versions.test.ts

describe('data lost to a buffered write into a DAX inode', () => {
  it('immediate: the write lands in the page cache, the DAX read returns the old bytes', () => {
    const got = new Uint8Array(4096);
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      yield* f.pwrite(filled(4096, 2), 0, 4096, 0, 0);
      yield* f.pread(got, 0, 4096, 0, 0);
    };
    const { error } = play({ kernel: 'immediate', initialDax: false }, body, true, (m, flipper) => [
      // the second write tests IS_DAX (false) before locking...
      { task: m.fsx, until: () => m.k.trace.since(0).filter((e) => e.kind === 'isdax' && e.text.endsWith('xfs_file_write_iter')).length >= 2 },
      { task: flipper, until: flipped(m.k) },
    ]);
    expect(error).toBeNull();
    // fsx would report READ BAD DATA here: the read sees the first write's bytes
    expect(got[0]).toBe(1);
  });
});

describe('hung tasks', () => {
  it('an ABBA deadlock between the I/O lock and the mmap lock', () => {
    const m = buildMachine({ trace: true });
    const a = m.fsx;
    const b = flipperTaskFor(0);
    m.sched.strategy = new PlanStrategy(
      [
        { task: a, until: () => m.k.inode.mmaplock.writer === a },
        { task: b, until: () => m.k.inode.iolock.writer === b },
      ],
      [a, b],
    );
    const N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } as Parameters<typeof fs_lock>[1];
    m.sched.add(
      a,
      (function* () {
        // the wrong order: MMAPLOCK, then IOLOCK
        yield* fs_lock(m.k, N, a, MMAPLOCK, true);
        yield* fs_lock(m.k, N, a, IOLOCK, true);
      })(),
    );
    m.sched.add(
      b,
      (function* () {
        yield* fs_lock(m.k, N, b, IOLOCK | MMAPLOCK, true);
      })(),
    );
    let error: unknown;
    try {
      m.sched.run(a);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HungTask);
    expect((error as HungTask).deadlock).toBe(true);
  });

  it('a task blocked beyond the bound while the holder keeps running', () => {
    const m = buildMachine({ trace: false, hungSteps: 500 });
    const holder = flipperTaskFor(0);
    const N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } as Parameters<typeof fs_lock>[1];
    m.sched.add(
      holder,
      (function* () {
        yield* fs_lock(m.k, N, holder, IOLOCK, true);
        for (;;) if (m.k.tick()) yield; // never lets go
      })(),
    );
    m.sched.add(
      m.fsx,
      (function* () {
        yield* fs_lock(m.k, N, m.fsx, IOLOCK, false);
        yield* fs_unlock(m.k, m.fsx, IOLOCK, false);
      })(),
    );
    let error: unknown;
    try {
      m.sched.run(m.fsx);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HungTask);
    expect((error as HungTask).deadlock).toBe(false);
    expect((error as HungTask).task).toBe(m.fsx);
  });

  it('a fault that never installs a PTE retries until the model calls it a livelock', () => {
    const m = buildMachine({ trace: false });
    const stuck: VmOps = {
      name: 'stuck_vm_ops',
      *fault() {
        return VM_FAULT.NOPAGE;
      },
    };
    let error: unknown;
    m.sched.add(
      m.fsx,
      (function* () {
        yield* m.file.open({ direct: false });
        yield* m.file.pwrite(filled(4096, 1), 0, 4096, 0, 0);
        const map = (yield* m.file.mmap(0, 4096, false)) as Mapping & { vma: { vm_ops: VmOps } };
        map.vma.vm_ops = stuck;
        yield* m.file.mapRead(map, 0, new Uint8Array(4), 0, 4);
      })(),
    );
    try {
      m.sched.run(m.fsx);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FaultLoop);
  });
});

describe('ext4 flavour', () => {
  it('immediate (4.13): chattr +j clears S_DAX with nothing unmapped; the DAX VMA keeps ext4_dax_vm_ops and its stores go to media beneath a cached page', () => {
    const got = new Uint8Array(16);
    // after the flip: a buffered write caches the page, then a store through the old DAX VMA goes to media
    const body: Body = (m) => ext4OldVmaStore(m, got);
    const { error, m } = play({ fs: 'ext4', kernel: 'immediate' }, body, false, (mm, flipper) => [
      { task: mm.fsx, until: () => mm.k.inode.mapping.i_mmap.size > 0 && [...mm.k.inode.mapping.i_mmap][0].ptes.size > 0 },
      { task: flipper, until: flipped(mm.k) },
    ]);
    expect(error).toBeNull();
    expect(m.k.inode.journalData).toBe(true);
    expect(m.k.inode.sDax).toBe(false);
    // the mapped store went to media under a cached page: the read sees the cache, not the store
    expect(got[0]).toBe(2);
  });
});
