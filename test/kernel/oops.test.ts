import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelPanic, type Warning } from '../../src/kernel/core.js';
import { DESIGNS, type DesignName } from '../../src/kernel/designs.js';
import { IOLOCK, MMAPLOCK, fs_lock } from '../../src/kernel/fs/generic.js';
import { buildMachine, flipperTaskFor } from '../../src/kernel/machine.js';
import { FaultLoop } from '../../src/kernel/mm/memory.js';
import {
  hungReport,
  hungReportStep,
  lockList,
  machineFor,
  noProgressText,
  panicText,
  printTainted,
  softLockupText,
  warningText,
  type Machine,
} from '../../src/kernel/oops.js';
import type { Mapping } from '../../src/fsx/file.js';
import { PlanStrategy } from '../../src/sched/plan.js';
import { HungTask } from '../../src/sched/scheduler.js';
import { Task } from '../../src/sched/task.js';
import { cli, tmp } from '../helpers.js';

/**
 * The kernel's reports (issue 12 item 7): one test per point of the
 * review, each failing if that point regresses.
 */

/** The dmesg of a CLI run, without the timestamps. */
async function dmesgOf(args: string[]): Promise<string> {
  const d = tmp();
  const f = join(d, 'f');
  await cli([...args, f]);
  return readFileSync(`${f}.dmesg`, 'utf8').replace(/^\[ *\d+\.\d{6}\] /gm, '');
}

let seedOops: Promise<string> | undefined;
let seedBug: Promise<string> | undefined;
/** The seed's NULL dereference (default design: 4.13 paths, XFS; seed 4 on the by-release paths). */
const nullDeref = (): Promise<string> => (seedOops ??= dmesgOf(['-S', '4', '-N', '20000']));
/** vm_insert_mixed's BUG_ON (seed 1 on the by-release paths; seed 2 now oopses in iomap_page_mkwrite). */
const bugOn = (): Promise<string> => (seedBug ??= dmesgOf(['-S', '1', '-N', '20000']));

/** The model's frames of the seed's write fault, outermost first (with the functions a build inlines). */
const FAULT = [
  'page_fault',
  'do_page_fault',
  '__do_page_fault',
  'handle_mm_fault',
  '__handle_mm_fault',
  'handle_pte_fault',
  'do_fault',
  'do_shared_fault',
  '__do_fault',
  'xfs_filemap_fault',
  'xfs_filemap_page_mkwrite',
  'iomap_page_mkwrite',
];
const FSYNC = ['entry_SYSCALL_64_fastpath', 'SyS_fsync', 'xfs_file_fsync', 'filemap_write_and_wait_range', 'grab_mapping_entry'];

const fsx = (): Task => new Task(6052, 'fsx', 3);
const nullPanic = (t = fsx(), frames = FAULT): KernelPanic => new KernelPanic('oops', 'iomap_page_mkwrite', t, frames, '0000000000000020', 'lock_page() on a NULL struct page');
const warning = (t: Task, frames = FSYNC, step = 10): Warning => ({ func: 'grab_mapping_entry', where: 'fs/dax.c:479', what: 'x', task: t, frames, step });
const mach = (d: DesignName = 'immediate'): Machine => machineFor('xfs', DESIGNS[d], 1);

/** The first register dump's values by name. */
function regs(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  const start = text.indexOf('RIP: 0010:');
  const end = text.indexOf('Call Trace:', start);
  for (const m of text.slice(start, end).matchAll(/\b(R[A-Z0-9]{1,2}|CR2): ([0-9a-f]{16})/g)) if (!(m[1] in out)) out[m[1]] = BigInt(`0x${m[2]}`);
  return out;
}

/** The Code: line's bytes and where the <xx> one is. */
function code(text: string): { bytes: number[]; at: number } {
  const line = text.split('\n').find((l) => l.startsWith('Code: ') && l.includes('<'))!;
  const toks = line.slice(6).trim().split(/\s+/);
  const at = toks.findIndex((x) => x.startsWith('<'));
  return { bytes: toks.map((x) => Number.parseInt(x.replace(/[<>]/g, ''), 16)), at };
}

const GPR = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI'];

describe('Code: bytes decode to the instruction that failed', () => {
  it('NULL dereference: a load 0x20 off a register that holds 0 in the dump, CR2 = 0x20', async () => {
    for (const text of [await nullDeref(), panicText(nullPanic(), mach('deferred'), '')]) {
      const { bytes, at } = code(text);
      // REX.W mov r/m64 -> r64, ModRM mod=01 (disp8): mov disp8(%base),%reg
      expect(bytes[at]).toBe(0x48);
      expect(bytes[at + 1]).toBe(0x8b);
      const modrm = bytes[at + 2];
      expect(modrm >> 6).toBe(1);
      expect(bytes[at + 3]).toBe(0x20);
      const base = GPR[modrm & 7];
      const r = regs(text);
      expect(r[base], `${base} in the dump`).toBe(0n);
      expect(r.CR2).toBe(0x20n);
    }
  });

  it('BUG: ud2 (<0f> 0b); WARN: ud0 (<0f> ff) on 4.13/4.14, ud2 on 5.x; each failure its own bytes', async () => {
    const bug = code(await bugOn());
    expect(bug.bytes.slice(bug.at, bug.at + 2)).toEqual([0x0f, 0x0b]);
    for (const d of ['immediate', 'ignored'] as const) {
      const w = code(warningText(warning(fsx()), mach(d)));
      expect(w.bytes.slice(w.at, w.at + 2)).toEqual([0x0f, 0xff]);
    }
    const w5 = code(warningText(warning(fsx()), mach('deferred')));
    expect(w5.bytes.slice(w5.at, w5.at + 2)).toEqual([0x0f, 0x0b]);
    const lines = [await nullDeref(), await bugOn(), warningText(warning(fsx()), mach())].map((t) => t.split('\n').find((l) => l.startsWith('Code: ')));
    expect(new Set(lines).size).toBe(3);
  });

  it('64 bytes: 43 before RIP and 20 after on 4.13/4.14 (each followed by a space), 42 and 21 on 5.x', async () => {
    const old = code(await nullDeref());
    expect([old.at, old.bytes.length]).toEqual([43, 64]);
    expect((await nullDeref()).split('\n').find((l) => l.startsWith('Code: '))).toMatch(/ $/);
    const modern = code(panicText(nullPanic(), mach('deferred'), ''));
    expect([modern.at, modern.bytes.length]).toEqual([42, 64]);
  });
});

describe('the stack: RSP, task and task.stack', () => {
  it("RSP lies in [task.stack, task.stack + 16K) and the trailer's RSP is the dump's", async () => {
    for (const text of [await nullDeref(), await bugOn()]) {
      const stack = BigInt(`0x${/task\.stack: ([0-9a-f]{16})/.exec(text)![1]}`);
      const rsp = BigInt(`0x${/^RSP: [0-9a-f]{4}:([0-9a-f]{16})/m.exec(text)![1]}`);
      expect(stack % 0x4000n).toBe(0n);
      expect(rsp >= stack && rsp < stack + 0x4000n).toBe(true);
      expect(/^RIP: \S+ RSP: ([0-9a-f]{16})$/m.exec(text)![1]).toBe(rsp.toString(16).padStart(16, '0'));
      // RBP: the function's frame, just above RSP
      expect(regs(text).RBP).toBe(rsp + 0x20n);
    }
  });

  it('each task has its own task_struct, stack, per-CPU GS and page tables; one task the same in every report', () => {
    const m = mach();
    const a = warningText(warning(new Task(6052, 'fsx', 3)), m);
    const b = warningText(warning(new Task(6060, 'xfs_io', 1)), m);
    const a2 = panicText(nullPanic(new Task(6052, 'fsx', 3)), m, 'W');
    const field = (t: string, re: RegExp): string => re.exec(t)![1];
    for (const re of [/task: ([0-9a-f]{16})/, /task\.stack: ([0-9a-f]{16})/, /GS:([0-9a-f]{16})/, /CR3: ([0-9a-f]{16})/]) {
      expect(field(a, re), String(re)).not.toBe(field(b, re));
      expect(field(a, re), String(re)).toBe(field(a2, re));
    }
  });
});

describe('the call trace', () => {
  it("user-mode registers follow the entry stub: after page_fault the faulting memcpy's, after a system call's entry RCX = RIP, R11 = flags, ORIG_RAX", async () => {
    const t = (await nullDeref()).split('\n');
    const i = t.findIndex((l) => /^ page_fault\+0x22\/0x30$/.test(l));
    expect(i).toBeGreaterThan(0);
    expect(t[i + 1]).toMatch(/^RIP: 0033:0x7f[0-9a-f]+$/);
    expect(t[i + 2]).toMatch(/^RSP: 002b:00007ff[0-9a-f]{9} EFLAGS: [0-9a-f]{8}$/);
    expect(t[i + 3]).toMatch(/^RAX: /);
    const w = warningText(warning(fsx()), mach()).split('\n');
    const j = w.findIndex((l) => l.startsWith(' entry_SYSCALL_64_fastpath+'));
    const rip = /^RIP: 0033:0x([0-9a-f]+)$/.exec(w[j + 1])![1];
    expect(w[j + 2]).toMatch(/^RSP: 002b:[0-9a-f]{16} EFLAGS: 00000246 ORIG_RAX: 000000000000004a$/);
    expect(w[j + 3]).toMatch(new RegExp(`^RAX: ffffffffffffffda RBX: [0-9a-f]{16} RCX: 0{${16 - rip.length}}${rip}$`));
    expect(w[j + 6]).toMatch(/R11: 0000000000000246/);
  });

  it('functions a build inlines are not printed (the model keeps them on its stack)', async () => {
    const text = await nullDeref();
    const trace = text.slice(text.indexOf('Call Trace:'), text.indexOf('RIP: 0033'));
    for (const f of ['lock_page', 'trylock_page', 'compound_head', 'do_fault', 'handle_pte_fault', 'do_shared_fault']) expect(trace).not.toMatch(new RegExp(`^ ${f}\\+`, 'm'));
    for (const f of ['xfs_filemap_page_mkwrite', 'xfs_filemap_fault', '__do_fault', '__handle_mm_fault', 'handle_mm_fault', '__do_page_fault', 'do_page_fault', 'page_fault']) {
      expect(trace).toMatch(new RegExp(`^ ${f}\\+`, 'm'));
    }
  });

  it('every func+off/size has off < size; the entry stubs have their real size', async () => {
    const texts = [await nullDeref(), await bugOn(), panicText(nullPanic(), mach('deferred'), ''), warningText(warning(fsx()), mach())];
    for (const text of texts) {
      for (const m of text.matchAll(/\b([A-Za-z_][\w.]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)/g)) expect(Number.parseInt(m[2], 16), m[0]).toBeLessThan(Number.parseInt(m[3], 16));
    }
    expect(texts[0]).toContain(' page_fault+0x22/0x30\n');
    expect(texts[2]).toContain(' asm_exc_page_fault+0x1e/0x30\n');
    expect(texts[3]).toContain(' entry_SYSCALL_64_fastpath+0x1f/0xbe\n');
    expect(texts.join('\n')).not.toMatch(/\bpage_fault\+0x[0-9a-f]+\/0x(?!30\b)/);
  });
});

describe('the page-table walk', () => {
  it('4.13: one printk per level, then an empty line; 4.14: one line; 5.x: PGD 0 P4D 0', async () => {
    const t = (await nullDeref()).split('\n');
    const i = t.findIndex((l) => l.startsWith('PGD '));
    expect(t.slice(i, i + 6).map((l) => l.replace(/[0-9a-f]{6,}/g, 'X'))).toEqual(['PGD X ', 'P4D X ', 'PUD X ', 'PMD 0 ', '', 'Oops: 0000 [#1] SMP']);
    // the entries point one page table to the next: CR3's page, then the next ones
    const cr3 = BigInt(`0x${/CR3: ([0-9a-f]{16})/.exec(t.join('\n'))![1]}`);
    expect(t[i]).toBe(`PGD ${((cr3 + 0x1000n) | 0x67n).toString(16)} `);
    expect(panicText(nullPanic(), mach('ignored'), '')).toMatch(/\nPGD [0-9a-f]+ P4D [0-9a-f]+ PUD [0-9a-f]+ PMD 0 \nOops: 0000 \[#1\] SMP\n/);
    expect(panicText(nullPanic(), mach('deferred'), '')).toMatch(/\nPGD 0 P4D 0 \nOops: 0000 \[#1\] SMP NOPTI\n/);
  });
});

describe('taint', () => {
  it("print_tainted: 'Not tainted', or G and a column per flag (16 on 4.x, 18 on 5.x)", () => {
    expect(printTainted(mach(), '')).toBe('Not tainted');
    expect(printTainted(mach(), 'W')).toBe('Tainted: G        W      ');
    expect(printTainted(mach(), 'G        W')).toBe('Tainted: G        W      ');
    expect(printTainted(mach('deferred'), 'W')).toBe('Tainted: G        W        ');
    expect(printTainted(mach(), 'DW')).toBe('Tainted: G      D W      ');
  });

  it('after a WARN, the reports carry W: the next WARN, an oops, a hung task', () => {
    const m = mach();
    expect(warningText(warning(fsx()), m, '')).toContain('Comm: fsx Not tainted 4.13.0+ #1');
    expect(warningText(warning(fsx()), m, 'W')).toContain('Comm: fsx Tainted: G        W       4.13.0+ #1');
    expect(panicText(nullPanic(), m, 'W')).toContain('Comm: fsx Tainted: G        W       4.13.0+ #1');
    const h = hang('immediate', 'xfs', true);
    expect(hungReport(h.k, m, 'W', h.task).split('\n')[1]).toBe('      Tainted: G        W       4.13.0+ #1');
  });

  it("one boot's end-trace ids follow each other, and oopses count [#1], [#2]", () => {
    const m = mach();
    const ids = [warningText(warning(fsx()), m), panicText(nullPanic(), m, 'W')].map((t) => BigInt(`0x${/---\[ end trace ([0-9a-f]{16}) \]---/.exec(t)![1]}`));
    expect(ids[1] - ids[0]).toBe(1n);
    expect(panicText(nullPanic(), m, 'DW')).toContain('Oops: 0000 [#2] SMP');
  });
});

/** A task blocked on the inode's locks: a flip that never lets go of IOLOCK and MMAPLOCK, fsx in a write fault or a pwrite. */
function hang(kernel: DesignName, fs: 'xfs' | 'ext4', mapped: boolean): { k: ReturnType<typeof buildMachine>['k']; task: Task; holder: Task } {
  const m = buildMachine({ trace: true, hungSteps: 500, kernel, fs });
  const holder = flipperTaskFor(0);
  const N = (fs === 'xfs' ? { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } : { iolock: 'inode_lock', mmaplock: 'ext4_i_mmap_sem' }) as Parameters<typeof fs_lock>[1];
  let ready = false;
  m.sched.strategy = new PlanStrategy(
    [
      { task: m.fsx, until: () => ready },
      { task: holder, until: () => m.k.inode.mmaplock.writer === holder },
    ],
    [m.fsx, holder],
  );
  m.sched.add(
    holder,
    (function* () {
      for (const f of ['entry_SYSCALL_64_fastpath', 'SyS_ioctl', fs === 'xfs' ? 'xfs_file_ioctl' : 'ext4_ioctl', fs === 'xfs' ? 'xfs_ioctl_setattr' : 'ext4_ioctl_fssetxattr']) holder.enter(f);
      yield* fs_lock(m.k, N, holder, IOLOCK | MMAPLOCK, true);
      for (;;) if (m.k.tick()) yield;
    })(),
  );
  m.sched.add(
    m.fsx,
    (function* () {
      yield* m.file.open({ direct: false });
      yield* m.file.pwrite(new Uint8Array(8192), 0, 8192, 0, 0);
      const map = (yield* m.file.mmap(0, 8192, true)) as Mapping;
      ready = true;
      if (mapped) yield* m.file.mapWrite(map, 0, new Uint8Array(4), 0, 4);
      else yield* m.file.pwrite(new Uint8Array(8192), 0, 8192, 0, 0);
    })(),
  );
  try {
    m.sched.run(m.fsx);
  } catch (e) {
    if (e instanceof HungTask) return { k: m.k, task: e.task, holder };
    throw e;
  }
  throw new Error('no hang');
}

const OLD_LOCK = (n: number): RegExp => new RegExp(`^ #\\d+:  \\([^)]+(?:\\)[^)]*)?\\)\\{[.+?-]{${n}}\\}, at: \\[<ffffffff[0-9a-f]{8}>\\] \\w+\\+0x[0-9a-f]+/0x[0-9a-f]+$`);
const NEW_LOCK = /^ #\d+: [0-9a-f]{16} \(.+\)\{[.+?-]{4}\}-\{\d:\d\}, at: \w+\+0x[0-9a-f]+\/0x[0-9a-f]+$/;

describe('the hung-task report', () => {
  it("4.13: check_hung_task's lines, the task line, its trace into the sleep, and its held locks in lockdep's format", () => {
    const h = hang('immediate', 'xfs', true);
    const text = hungReport(h.k, mach(), '', h.task);
    const l = text.split('\n');
    expect(l.slice(0, 4)).toEqual([
      'INFO: task fsx:6052 blocked for more than 120 seconds.',
      '      Not tainted 4.13.0+ #1',
      '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
      'fsx             D    0  6052   6051 0x00000000',
    ]);
    expect(l.slice(5, 10).map((x) => x.replace(/\+.*/, ''))).toEqual([' __schedule', ' schedule', ' rwsem_down_read_failed', ' call_rwsem_down_read_failed', ' down_read_nested']);
    expect(text).toMatch(/ page_fault\+0x22\/0x30\nRIP: 0033:/);
    const head = l.findIndex((x) => /^\d+ locks? held by fsx\/6052:$/.test(x));
    const n = Number.parseInt(l[head], 10);
    const locks = l.slice(head + 1, head + 1 + n);
    for (const x of locks) expect(x).toMatch(OLD_LOCK(6));
    expect(l.length).toBe(head + 1 + n);
    expect(locks.map((x) => /\((.*)\)\{/.exec(x)![1])).toEqual(['&mm->mmap_sem', 'sb_pagefaults#11', '&(&ip->i_mmaplock)->mr_lock']);
    // the lock it waits for was recorded where the trace shows the call
    const at = / xfs_ilock\+(0x[0-9a-f]+\/0x[0-9a-f]+)$/m.exec(text)![1];
    expect(locks[2]).toMatch(new RegExp(`\\] xfs_ilock\\+${at}$`));
    expect(text).not.toContain('Showing all locks');
    expect(text).not.toMatch(/holds (IOLOCK|MMAPLOCK)/);
  });

  it('4.14: four usage characters (no RECLAIM_FS state)', () => {
    const h = hang('ignored', 'xfs', false);
    const text = hungReport(h.k, mach('ignored'), '', h.task);
    expect(text).toContain(' call_rwsem_down_write_failed+0x17/0x30');
    const locks = text.split('\n').filter((x) => x.startsWith(' #'));
    expect(locks.map((x) => /\((.*)\)\{/.exec(x)![1])).toEqual(['sb_writers#11', '&sb->s_type->i_mutex_key#15']);
    for (const x of locks) expect(x).toMatch(OLD_LOCK(4));
  });

  it('5.x: the task line of its version, and every lock in the system once, after the hung tasks', () => {
    for (const fs of ['xfs', 'ext4'] as const) {
      const h = hang('deferred', fs, true);
      const text = hungReport(h.k, machineFor(fs, DESIGNS['deferred'], 1), '', h.task);
      const l = text.split('\n');
      expect(l[0]).toBe('INFO: task fsx:6052 blocked for more than 122 seconds.');
      expect(l[3]).toBe('task:fsx             state:D stack:    0 pid: 6052 ppid:  6051 flags:0x00000000');
      expect(text).toContain(' rwsem_down_read_slowpath+');
      expect(text).toMatch(/ asm_exc_page_fault\+0x1e\/0x30\nRIP: 0033:0x[0-9a-f]+\nCode: Unable to access opcode bytes at RIP 0x[0-9a-f]+\.\nRSP: 002b:/);
      const s = l.indexOf('Showing all locks held in the system:');
      expect(l[s - 1]).toBe('');
      expect(l[s + 1]).toBe('1 lock held by khungtaskd/38:');
      expect(l.slice(-3)).toEqual(['', '=============================================', '']);
      for (const x of l.filter((y) => y.startsWith(' #'))) expect(x).toMatch(NEW_LOCK);
      expect(text).toMatch(/3 locks held by fsx\/6052:\n #0: [0-9a-f]{16} \(&mm->mmap_lock\)/);
      // the flip is running (not blocked): lockdep prints its count, not its list
      expect(text).toMatch(/\d locks held by xfs_io\/6060:\n\n/);
    }
    const h = hang('deferred', 'xfs', true);
    const m58: Machine = { ...machineFor('xfs', DESIGNS['deferred'], 1), base: '5.8', version: '5.8.0+' };
    expect(hungReport(h.k, m58, '', h.task)).toMatch(/\nfsx             D    0  6052   6051 0x00000000\n[\s\S]*\nCode: Bad RIP value\.\n/);
  });

  it('a deadlock: both tasks reported, each with its locks', () => {
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
        yield* fs_lock(m.k, N, a, MMAPLOCK, true);
        yield* fs_lock(m.k, N, a, IOLOCK, true);
      })(),
    );
    m.sched.add(b, fs_lock(m.k, N, b, IOLOCK | MMAPLOCK, true));
    let error: unknown;
    try {
      m.sched.run(a);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HungTask);
    const text = hungReport(m.k, mach(), '', (error as HungTask).task);
    expect(text.match(/^INFO: task \S+ blocked/gm)).toEqual(['INFO: task fsx:6052 blocked', 'INFO: task xfs_io:6060 blocked']);
    expect(text).toMatch(/2 locks held by fsx\/6052:\n #0:  \(&\(&ip->i_mmaplock\)->mr_lock\)[^\n]*\n #1:  \(&sb->s_type->i_mutex_key#15\)/);
    expect(text).toMatch(/2 locks held by xfs_io\/6060:\n #0:  \(&sb->s_type->i_mutex_key#15\)[^\n]*\n #1:  \(&\(&ip->i_mmaplock\)->mr_lock\)/);
  });

  it('lockList gives the lines for one task (for callers building their own report)', () => {
    const h = hang('immediate', 'ext4', false);
    const lines = lockList(h.k, machineFor('ext4', DESIGNS['immediate'], 1), h.task);
    expect(lines[0]).toBe('2 locks held by fsx/6052:');
    expect(lines[2]).toMatch(/\(&sb->s_type->i_mutex_key#8\)\{\+{6}\}, at: \[<ffffffff[0-9a-f]{8}>\] ext4_file_write_iter\+/);
  });

  it('through the CLI: printed 122 s after the task blocked, in the format above', async () => {
    const d = tmp();
    const f = join(d, 'f');
    // ext4 4.13: fsx blocks in ext4_dax_pfn_mkwrite on i_mmap_sem while the journal-flag flip holds it
    // (on these paths no ext4 wait lasts 60 steps; seed 4 ends in READ BAD DATA)
    const r = await cli(['-q', '-S', '5', '-N', '20000', '--fs', 'ext4', '--hung-steps', '10', f]);
    expect(r.code).toBe(51);
    const dmesg = readFileSync(`${f}.dmesg`, 'utf8');
    const stamp = /^\[ *(\d+)\.\d{6}\] INFO: task fsx:6052 blocked for more than 120 seconds\.$/m.exec(dmesg);
    expect(stamp).not.toBeNull();
    expect(Number(stamp![1])).toBeGreaterThanOrEqual(300 + 122);
    expect(dmesg).toMatch(/\] \d locks? held by fsx\/6052:\n/);
    for (const x of dmesg.split('\n').filter((y) => / #\d+: /.test(y))) expect(x.replace(/^\[[^\]]+\] /, '')).toMatch(OLD_LOCK(6));
  });

  it('hungReportStep: khungtaskd sees the task 122 s (of model time) after it blocked', () => {
    expect(hungReportStep(1000)).toBe(1000 + 122_000_000);
  });
});

describe('a fault retried forever', () => {
  it("is daxfsx's report, every line marked as daxfsx's: no watchdog fires for a task going back to user space", () => {
    const t = fsx();
    const e = new FaultLoop(t, ['page_fault', 'do_page_fault', '__do_page_fault', 'handle_mm_fault'], 7, 1001);
    for (const text of [noProgressText(e, mach()), softLockupText(t, mach(), '', e.frames)]) {
      for (const l of text.split('\n')) expect(l).toMatch(/^daxfsx: /);
      expect(text).not.toMatch(/soft lockup|NMI watchdog|BUG:/);
      expect(text).toContain('made no progress');
      expect(text).toMatch(/would print nothing/);
    }
    expect(noProgressText(e, mach())).toContain('page 7');
    expect(noProgressText(e, mach())).toContain('1001 times');
  });
});

describe('the format follows the kernel the design comes from', () => {
  it('4.13/4.14: IP:, task:, Code: after the trace, the RIP/RSP trailer; releases 4.13.0+ and 4.14.0+', () => {
    for (const d of ['immediate', 'ignored'] as const) {
      const text = panicText(nullPanic(), mach(d), '');
      expect(text).toMatch(/^BUG: unable to handle kernel NULL pointer dereference at 0000000000000020\nIP: iomap_page_mkwrite\+0x17\/0xf0\n/);
      expect(text).toMatch(/\nModules linked in:\nCPU: 3 PID: 6052 Comm: fsx Not tainted 4\.1[34]\.0\+ #1\nHardware name: .*\ntask: [0-9a-f]{16} task\.stack: [0-9a-f]{16}\nRIP: 0010:iomap_page_mkwrite\+0x17\/0xf0\nRSP: /);
      expect(text).toMatch(/\nCode: [^\n]+\nRIP: iomap_page_mkwrite\+0x17\/0xf0 RSP: [0-9a-f]{16}\nCR2: 0000000000000020\n---\[ end trace [0-9a-f]{16} \]---$/);
      expect(text).not.toContain('#PF');
    }
  });

  it('5.8/5.11: the BUG line and #PF lines, no IP: or task:, Code: after RIP, modules after the trace, the register summary after the end marker', () => {
    for (const base of ['5.8', '5.11'] as const) {
      const m: Machine = { ...mach('deferred'), base, version: `${base}.0+` };
      const text = panicText(nullPanic(), m, '');
      expect(text).toMatch(
        /^BUG: kernel NULL pointer dereference, address: 0000000000000020\n#PF: supervisor read access in kernel mode\n#PF: error_code\(0x0000\) - not-present page\nPGD 0 P4D 0 \nOops: 0000 \[#1\] SMP NOPTI\nCPU: 3 PID: 6052 Comm: fsx Not tainted 5\.\d+\.0\+ #1\nHardware name: [^\n]+\nRIP: 0010:iomap_page_mkwrite\+0x17\/0xf0\nCode: [^\n]+\nRSP: 0000:/,
      );
      expect(text).not.toMatch(/^IP: |^task: /m);
      expect(text).toMatch(/\nModules linked in:\nCR2: 0000000000000020\n---\[ end trace [0-9a-f]{16} \]---\nRIP: 0010:iomap_page_mkwrite\+0x17\/0xf0\nCode: /);
      expect(text).toMatch(/ do_user_addr_fault\+.*\n exc_page_fault\+.*\n asm_exc_page_fault\+0x1e\/0x30\n/);
    }
    const w = warningText(warning(fsx()), mach('deferred'));
    expect(w).toMatch(/^------------\[ cut here \]------------\nWARNING: CPU: 3 PID: 6052 at fs\/dax\.c:479 grab_mapping_entry\+0x[0-9a-f]+\/0x[0-9a-f]+\nModules linked in:\nCPU: 3 PID: 6052 Comm: fsx Not tainted 5\.11\.0\+ #1\n/);
    expect(w).toMatch(/ __x64_sys_fsync\+.*\n do_syscall_64\+.*\n entry_SYSCALL_64_after_hwframe\+0x44\/0xa9\nRIP: 0033:/);
  });

  it('machineFor takes the release from the design', () => {
    expect(machineFor('xfs', DESIGNS['immediate'], 1).version).toBe('4.13.0+');
    expect(machineFor('xfs', DESIGNS['locked'], 1).version).toBe('4.13.0+');
    expect(machineFor('xfs', DESIGNS['ignored'], 1).version).toBe('4.14.0+');
    expect(machineFor('ext4', DESIGNS['deferred'], 1).version).toBe('5.11.0+');
  });

  it('panic_on_warn: 4.13 panics before the registers, and dump_stack goes through the trap into the interrupted code', () => {
    const t = fsx();
    const text = panicText(new KernelPanic('warning', 'grab_mapping_entry', t, FAULT.slice(0, -3).concat(['dax_iomap_fault', 'grab_mapping_entry']), 'fs/dax.c:479', 'x'), mach(), '');
    expect(text).toMatch(/^------------\[ cut here \]------------\nWARNING: CPU: 3 PID: 6052 at fs\/dax\.c:479 grab_mapping_entry\+0x[0-9a-f]+\/0x[0-9a-f]+\nKernel panic - not syncing: panic_on_warn set \.\.\.\n\nCPU: 3 PID: 6052 Comm: fsx Not tainted 4\.13\.0\+ #1\n/);
    expect(text).toMatch(/\n dump_stack\+.*\n panic\+.*\n __warn\+.*\n report_bug\+.*\n fixup_bug\+.*\n do_error_trap\+.*\n do_invalid_op\+.*\n invalid_op\+0x1b\/0x30\nRIP: 0010:grab_mapping_entry\+/);
    expect(text).toMatch(/\nKernel Offset: disabled\n---\[ end Kernel panic - not syncing: panic_on_warn set \.\.\.\n$/);
    expect(text).not.toMatch(/end trace/);
  });
});

describe('the seed through the CLI', () => {
  it("keeps the seed's IP and its shape", async () => {
    const text = await nullDeref();
    expect(text).toContain('IP: iomap_page_mkwrite+0x17/0xf0\n');
    expect(text).toContain('RIP: 0010:iomap_page_mkwrite+0x17/0xf0\n');
    expect(text).toMatch(/CPU: 3 PID: 6052 Comm: fsx Not tainted 4\.13\.0\+ #1/);
  });
});
