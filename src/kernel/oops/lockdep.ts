/**
 * The locks a task holds, as lockdep prints them (lockdep_print_held_locks
 * and print_lock; a lockdep kernel is the one that can print a lock list at
 * all):
 *
 *   4.13:  `2 locks held by fsx/6052:`
 *          ` #0:  (&mm->mmap_sem){++++++}, at: [<ffffffff8106e1c3>] __do_page_fault+0x1c3/0x4f0`
 *   4.14:  the same with four usage characters (the RECLAIM_FS state is gone)
 *   5.8+:  ` #0: ffff8880789c1d68 (&mm->mmap_lock){++++}-{3:3}, at: do_user_addr_fault+0x1f8/0x6b0`
 *          (the lock's address, no raw return address, the wait types)
 *
 * lockdep records a lock when the task asks for it, before it sleeps on
 * it, so a task blocked in down_read() lists the lock it waits for last.
 *
 * What the model tracks itself: the inode's I/O lock and mmap lock (who
 * holds them, who waits). The locks around them that the model's paths do
 * not take but the kernel's do are read off the task's frames: mmap_sem
 * for a page fault (and for mmap/munmap, exclusively), sb_writers for the
 * calls that write (vfs_write, vfs_fallocate, do_sys_ftruncate, the
 * ioctl's mnt_want_write_file, vfs_copy_file_range), sb_pagefaults in a
 * write fault's ->page_mkwrite/->pfn_mkwrite and in a write fault's
 * ->fault/->huge_fault where the handler takes it (ext4's DAX faults, XFS's
 * PMD fault; whether the fault writes comes from k.faultWrite, as a PMD
 * fault leaves no frame that says so). Page locks are not lockdep
 * locks and are not listed.
 *
 * Unknowable, and chosen: the `#N` after a class name (how many classes of
 * that name registered before it in this boot), lock addresses.
 */
import type { Task } from '../../sched/task.js';
import type { Kernel } from '../core.js';
import { RwSem } from '../locks.js';
import { baseOf, isModern, type Machine } from './machine.js';
import { heapAddr, hex16 } from './regs.js';
import { addressOf, symbol } from './symbols.js';

type Kind = 'rwsem' | 'percpu' | 'rcu';

interface Held {
  cls: string;
  kind: Kind;
  at: string;
  /** What `at` called to take it (for the return address's offset; a call trace through the same call shows the same). */
  via: string;
}

/**
 * The call a lock helper makes to take one of the inode's locks, as the
 * key of its return address: a lockdep kernel's xfs_ilock calls
 * down_*_nested (lockdep subclasses), everything else down_read/down_write.
 * The lock's name keeps two call sites in one function apart.
 */
export function lockCall(helper: string, semName: string, write: boolean): string {
  const nested = helper === 'xfs_ilock' ? '_nested' : '';
  return `${write ? 'down_write' : 'down_read'}${nested}:${semName}`;
}

/** `#N` per file system type (see above). */
const CLASS_N = { xfs: { sb: 11, imutex: 15 }, ext4: { sb: 3, imutex: 8 } } as const;

function usage(m: Machine, kind: Kind): string {
  const base = baseOf(m);
  if (kind === 'rcu') return '{....}-{1:2}';
  const u = kind === 'rwsem' ? '++++' : '.+.+';
  if (base === '4.13') return `{${u}${kind === 'rwsem' ? '++' : '.+'}}`;
  if (base === '4.14') return `{${u}}`;
  return `{${u}}-{${kind === 'rwsem' ? '3:3' : '0:0'}}`;
}

/** The lock classes of the inode's two modelled locks. */
function semClass(k: Kernel, which: 'io' | 'mmap'): string {
  const fs = k.fs.name;
  if (which === 'io') return `&sb->s_type->i_mutex_key#${CLASS_N[fs].imutex}`;
  return fs === 'xfs' ? '&(&ip->i_mmaplock)->mr_lock' : '&ei->i_mmap_sem';
}

/** Frames that inline the lock call into their caller: lockdep records the caller. */
const INLINE_LOCKERS = new Set(['inode_lock', 'inode_lock_shared', 'ext4_i_mmap_sem', 'down_read', 'down_write']);

/** Where a task took (or asked for) a modelled lock: from the trace when it still has the event, else from its frames. */
function acquiredAt(k: Kernel, t: Task, sem: RwSem): { at: string; via: string } {
  const waiter = sem.waiters.find((w) => w.t === t);
  const write = waiter ? waiter.write : sem.writer === t;
  const events = k.trace.enabled ? k.trace.since(0) : [];
  let at = '';
  for (let i = events.length - 1; i >= 0 && !at; i--) {
    const e = events[i];
    if (e.pid !== t.pid || e.kind !== 'lock') continue;
    if (!e.text.startsWith(`takes ${sem.name} (`) && !e.text.startsWith(`waits for ${sem.name} (`)) continue;
    const frames = e.stack.split(' > ');
    for (let j = frames.length - 1; j >= 0; j--) {
      if (!INLINE_LOCKERS.has(frames[j])) {
        at = frames[j];
        break;
      }
    }
  }
  if (!at && k.fs.name === 'xfs') at = 'xfs_ilock';
  const st = t.stack;
  for (let j = st.length - 1; j >= 0 && !at; j--) if (!INLINE_LOCKERS.has(st[j]) && st[j] !== '__lock_page') at = st[j];
  return { at: at || 'down_read', via: lockCall(at, sem.name, write) };
}

/** The locks the task's frames say it holds, in the order it took them. */
function frameLocks(k: Kernel, m: Machine, t: Task): Held[] {
  const out: Held[] = [];
  const st = t.stack;
  const modern = isModern(m);
  const fs = k.fs.name;
  const sb = (level: 'sb_writers' | 'sb_pagefaults', at: string): Held => ({ cls: `${level}#${CLASS_N[fs].sb}`, kind: 'percpu', at, via: '__sb_start_write' });
  const mm = (at: string): Held => ({ cls: modern ? '&mm->mmap_lock' : '&mm->mmap_sem', kind: 'rwsem', at, via: 'down_read_trylock' });
  const writeFault = st.includes('do_shared_fault') || st.includes('do_wp_page') || k.faultWrite.get(t) === true;
  for (let i = 0; i < st.length; i++) {
    const f = st[i];
    if (f === '__do_page_fault') out.push(mm(modern ? 'do_user_addr_fault' : '__do_page_fault'));
    else if (f === 'SyS_mmap') out.push({ ...mm('vm_mmap_pgoff'), via: 'down_write_killable' });
    else if (f === 'SyS_munmap') out.push({ ...mm('vm_munmap'), via: 'down_write_killable' });
    else if (f === 'SyS_pwrite64') out.push(sb('sb_writers', 'vfs_write'));
    else if (f === 'SyS_fallocate') out.push(sb('sb_writers', 'vfs_fallocate'));
    else if (f === 'SyS_ftruncate') out.push(sb('sb_writers', 'do_sys_ftruncate'));
    else if (f === 'SyS_copy_file_range') out.push(sb('sb_writers', 'vfs_copy_file_range'));
    else if (f === 'SyS_ioctl' && st.some((x) => /setattr|setflags|fssetxattr/.test(x))) out.push(sb('sb_writers', 'mnt_want_write_file'));
    else if (f === 'xfs_filemap_page_mkwrite' || f === 'xfs_filemap_pfn_mkwrite' || f === 'ext4_page_mkwrite' || f === 'ext4_dax_pfn_mkwrite')
      out.push(sb('sb_pagefaults', f));
    else if ((f === 'ext4_dax_fault' || f === 'ext4_dax_huge_fault') && writeFault) out.push(sb('sb_pagefaults', f));
    // a write PMD fault: 4.13's xfs_filemap_huge_fault takes it itself, 4.14+ in the __xfs_filemap_fault it calls
    else if (f === 'xfs_filemap_huge_fault' && writeFault) out.push(sb('sb_pagefaults', st[i + 1] === '__xfs_filemap_fault' ? '__xfs_filemap_fault' : f));
  }
  return out;
}

/** Everything lockdep has on the task: what its frames hold, then the inode's locks it holds or waits for. */
export function heldLocks(k: Kernel, m: Machine, t: Task): Held[] {
  const held = frameLocks(k, m, t);
  const ip = k.inode;
  const sems: [RwSem, 'io' | 'mmap'][] = [
    [ip.iolock, 'io'],
    [ip.mmaplock, 'mmap'],
  ];
  // held ones first (in the kernel's lock order, I/O lock before mmap lock), then the one it waits for
  for (const [sem, which] of sems) if (sem.heldBy(t)) held.push({ cls: semClass(k, which), kind: 'rwsem', ...acquiredAt(k, t, sem) });
  for (const [sem, which] of sems) if (sem.waiters.some((w) => w.t === t)) held.push({ cls: semClass(k, which), kind: 'rwsem', ...acquiredAt(k, t, sem) });
  return held;
}

function lockLine(m: Machine, i: number, h: Held): string {
  const at = symbol(h.at, h.via);
  if (isModern(m)) return ` #${i}: ${hex16(heapAddr(m, `lock:${h.cls}`))} (${h.cls})${usage(m, h.kind)}, at: ${at}`;
  return ` #${i}:  (${h.cls})${usage(m, h.kind)}, at: [<${hex16(addressOf(at))}>] ${at}`;
}

/**
 * lockdep_print_held_locks(t): the count line and one line per lock. From
 * 5.x on, a task that is running (not the printing one) gets the count line
 * only: its list could be changing under the printer.
 */
export function printHeldLocks(m: Machine, t: Task, held: Held[], running = false): string[] {
  if (held.length === 0) return [`no locks held by ${t.comm}/${t.pid}.`];
  const out = [`${held.length} lock${held.length > 1 ? 's' : ''} held by ${t.comm}/${t.pid}:`];
  if (running && isModern(m)) return out;
  held.forEach((h, i) => out.push(lockLine(m, i, h)));
  return out;
}

/** khungtaskd, which prints a 5.x report: a kernel thread started at boot (its pid is chosen, not known). */
export const KHUNGTASKD_PID = 38;

/**
 * debug_show_all_locks() (5.x, after the hung tasks): every task with
 * locks, in pid order, khungtaskd first with the RCU read lock it took to
 * walk the task list.
 */
export function showAllLocks(k: Kernel, m: Machine, tasks: Task[]): string[] {
  const out = ['', 'Showing all locks held in the system:'];
  out.push(`1 lock held by khungtaskd/${KHUNGTASKD_PID}:`);
  out.push(lockLine(m, 0, { cls: 'rcu_read_lock', kind: 'rcu', at: 'debug_show_all_locks', via: 'rcu_read_lock' }));
  for (const t of [...tasks].sort((a, b) => a.pid - b.pid)) {
    const held = heldLocks(k, m, t);
    if (held.length === 0) continue;
    const running = !t.waiting && !t.done;
    out.push(...printHeldLocks(m, t, held, running));
  }
  out.push('', '=============================================', '');
  return out;
}

/**
 * The lock list a run's hung-task report carries for task t, in the
 * version's format: 4.13/4.14 print the hung task's own locks
 * (debug_show_held_locks); 5.x all locks in the system, once, after the
 * hung tasks (`others`: the other tasks that may hold locks).
 */
export function lockList(k: Kernel, m: Machine, t: Task, others: Task[] = []): string[] {
  if (isModern(m)) return showAllLocks(k, m, [t, ...others.filter((o) => o !== t)]);
  return printHeldLocks(m, t, heldLocks(k, m, t));
}
