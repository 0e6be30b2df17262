/**
 * The kernel's reports, in the words and order of the kernel the design's
 * paths come from (KERNEL-HISTORY.md §7 for 4.13/4.14; 5.8's
 * arch/x86/mm/fault.c, dumpstack.c and process_64.c for 5.8/5.11):
 *
 * - oops (NULL dereference): show_fault_oops (the BUG line, `IP:`, the
 *   page-table walk; 5.x `#PF:` lines instead of `IP:`), __die (`Oops:`,
 *   modules, show_regs, the `RIP: … RSP: …` summary in 4.13/4.14), the
 *   `CR2:` line, oops_end's end marker (and 5.x's register summary after
 *   it);
 * - BUG(): report_bug's cut line and `kernel BUG at`, then die();
 * - WARN: __warn (with the trap's registers), the end marker; with
 *   panic_on_warn, panic() and its dump_stack();
 * - hung task: check_hung_task, sched_show_task, and lockdep's lock list
 *   (lockdep.ts);
 * - a fault retried forever: no kernel report at all (see noProgressText).
 *
 * Registers, addresses and code bytes: regs.ts.
 */
import type { Task } from '../../sched/task.js';
import type { Kernel, KernelPanic, Warning } from '../core.js';
import { PageLockWait, RwSem } from '../locks.js';
import { lockCall, lockList, printHeldLocks, heldLocks, showAllLocks } from './lockdep.js';
import { baseOf, boot, endMarker, isModern, printTainted, releaseLine, type Machine } from './machine.js';
import {
  codeLine,
  cr3Value,
  cr4Value,
  frameBytes,
  gpLines,
  heapAddr,
  hex16,
  layout,
  rspLine,
  stream,
  userFaultAddress,
  userRegs,
  type TaskLayout,
  type TrapKind,
} from './regs.js';
import { INLINED, modernName, symbol, trapSymbol } from './symbols.js';

const ENTRY_STUBS = new Set(['page_fault', 'asm_exc_page_fault', 'entry_SYSCALL_64_fastpath', 'entry_SYSCALL_64_after_hwframe']);

/** The frames as the version's call trace has them: outermost first, inlined ones out, the version's names. */
export function printedFrames(m: Machine, frames: readonly string[]): string[] {
  const out: string[] = [];
  const modern = isModern(m);
  for (const f of frames) {
    if (INLINED.has(f)) continue;
    if (modern) out.push(...modernName(f));
    else out.push(f);
  }
  return out;
}

/**
 * ` func+off/size` lines, innermost first; `callee` is the function the
 * innermost frame called; `via` overrides what frame i called, as the key
 * of its return address (a lock helper's call of down_*).
 */
function traceLines(frames: string[], callee: string, via: Map<number, string> = new Map()): string[] {
  const out: string[] = [];
  for (let i = frames.length - 1; i >= 0; i--) out.push(` ${symbol(frames[i], via.get(i) ?? frames[i + 1] ?? callee)}`);
  return out;
}

/** The model's frames below the failing function (outermost first). */
function below(frames: readonly string[], func: string): string[] {
  const b = frames.slice();
  if (b[b.length - 1] === func) b.pop();
  return b;
}

/** The user registers after the entry frame, as the version's unwinder prints them. */
function userBlock(m: Machine, t: Task, l: TaskLayout, frames: readonly string[], salt: string, current: boolean): string[] {
  if (!frames.length || !ENTRY_STUBS.has(frames[0])) return [];
  const u = userRegs(m, t, l, [...frames], salt);
  const out = [`RIP: 0033:0x${u.rip.toString(16)}`];
  if (isModern(m) && !current) {
    // another task's user code cannot be read by the printing one
    out.push(baseOf(m) === '5.8' ? 'Code: Bad RIP value.' : `Code: Unable to access opcode bytes at RIP 0x${(u.rip - 42n).toString(16)}.`);
  }
  out.push(rspLine(0x2b, u.rsp, u.eflags, u.origAx), ...gpLines(u.gp));
  return out;
}

/** The `Call Trace:` block of a task at a kernel failure: frames, then the user registers after the entry stub. */
function callTraceBlock(m: Machine, t: Task, l: TaskLayout, modelFrames: readonly string[], func: string, salt: string): string[] {
  const frames = printedFrames(m, below(modelFrames, func));
  return ['Call Trace:', ...traceLines(frames, func), ...userBlock(m, t, l, below(modelFrames, func), salt, true)];
}

/** `CPU: n PID: p Comm: c <taint> <release> #1` and `Hardware name:` (dump_stack_print_info). */
function cpuLines(m: Machine, t: Task, tainted: string): string[] {
  return [`CPU: ${t.cpu} PID: ${t.pid} Comm: ${t.comm} ${printTainted(m, tainted)} ${releaseLine(m)}`, `Hardware name: ${m.hardware}`];
}

interface KernelContext {
  /** Printed frames from the entry stub down to and including the failing function. */
  path: string[];
  rsp: bigint;
  ss: number;
  lines: string[];
  code: string;
  sym: string;
}

/**
 * The failing kernel context's registers: RSP inside the task's stack,
 * below the frames of its call trace; the registers the instruction at RIP
 * uses agree with it.
 */
function kernelContext(m: Machine, t: Task, l: TaskLayout, kind: TrapKind, func: string, modelFrames: readonly string[], cr2: bigint, salt: string): KernelContext {
  const path = [...printedFrames(m, below(modelFrames, func)), func];
  let rsp = l.stack + 0x4000n - 0xa8n;
  for (let i = 1; i < path.length; i++) rsp -= frameBytes(path[i]);
  const ts = trapSymbol(func, kind !== 'null');
  const n = stream(`kregs:${t.pid}:${salt}`);
  const kheap = (s: string): bigint => heapAddr(m, `${s}:${salt}`);
  const rbp = rsp + 0x20n;
  const gp: bigint[] = [n() % 0x100n, kheap('rbx'), 0n, n() % 0x1000n, kheap('rsi'), kheap('rdi'), rbp, 0n, 1n, kheap('r10'), 0n, kheap('r12'), kheap('r13'), kheap('r14'), 0n];
  if (kind === 'null') {
    // mov 0x48(%rdi),%rbx (vmf->page, NULL); mov %rdi,%r13; then mov 0x20(%rbx),%rax faults.
    // vmf lives in __handle_mm_fault's frame; the second argument (%rsi, kept in %r12 by the caller) is the iomap ops
    const vmf = rsp + 0x60n + (n() % 0x20n) * 8n;
    const ops = 0xffffffff81c00000n + (BigInt(stream(`ops:${func}`)()) & 0x3fffc0n);
    gp[1] = 0n;
    gp[4] = ops;
    gp[5] = vmf;
    gp[11] = ops;
    gp[12] = vmf;
  } else if (kind === 'bug' && func === 'vm_insert_mixed') {
    // vm_insert_mixed(vma, addr, pfn): the VMA, the user address that faulted, a pmem pfn_t (PFN_DEV|PFN_MAP)
    gp[4] = cr2 & ~0xfffn;
    gp[3] = 0x3000000000000000n | (0x240000n + (n() % 0x10000n));
  }
  const viaSyscall = path[0] === 'entry_SYSCALL_64_fastpath' || path[0] === 'entry_SYSCALL_64_after_hwframe';
  const ss = viaSyscall ? 0x18 : 0;
  const eflags = kind === 'warn' ? 0x10202 : 0x10246;
  const rip = `RIP: 0010:${ts.sym}`;
  const code = codeLine(m, kind, func, ts.off);
  const lines: string[] = [rip];
  if (isModern(m)) lines.push(code);
  lines.push(rspLine(ss, rsp, eflags, null), ...gpLines(gp));
  const cr = `CR2: ${hex16(cr2)} CR3: ${hex16(cr3Value(m, l))} CR4: ${hex16(cr4Value(m))}`;
  lines.push(`FS:  ${hex16(l.fs)}(0000) GS:${hex16(l.gs)}(0000) knlGS:0000000000000000`, 'CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033', cr);
  return { path, rsp, ss, lines, code, sym: ts.sym };
}

/** CR2 at a failure that is not a page fault: the last user address that faulted (the fault the task is in), if any. */
function lastCr2(l: TaskLayout, frames: readonly string[], salt: string): bigint {
  return frames.includes('page_fault') ? userFaultAddress(l, salt) : userFaultAddress(l, `earlier:${salt}`);
}

/** The page-table walk for a user address in the first 2 MiB (dump_pagetable). */
function pageWalk(m: Machine, l: TaskLayout): string[] {
  if (isModern(m)) {
    // a PIE fsx (5.x userland): nothing mapped in the lowest 512 GiB; the folded P4D repeats the empty PGD entry
    return ['PGD 0 P4D 0 '];
  }
  // a non-PIE fsx at 0x400000: tables down to the PMD exist, the first 2 MiB has no PMD entry.
  // 4.13's printk without KERN_CONT starts each level on a line of its own; the closing
  // printk("\n") adds an empty one. (4.14 joins the levels with pr_cont.)
  const pgd = l.pgd.toString(16);
  const pud = l.pud.toString(16);
  if (baseOf(m) === '4.13') return [`PGD ${pgd} `, `P4D ${pgd} `, `PUD ${pud} `, 'PMD 0 ', ''];
  return [`PGD ${pgd} P4D ${pgd} PUD ${pud} PMD 0 `];
}

function oopsLine(m: Machine, str: string, err: number): string {
  const b = boot(m);
  b.dies++;
  return `${str}: ${err.toString(16).padStart(4, '0')} [#${b.dies}] SMP${isModern(m) ? ' NOPTI' : ''}`;
}

/** The 5.x register summary oops_end prints after the end marker. */
function execSummary(ctx: KernelContext): string[] {
  return ctx.lines;
}

/**
 * The oops, BUG or panic_on_warn report of a KernelPanic. `tainted` names
 * the taint flags set before it ('W' after a WARN; '' for none).
 */
export function panicText(p: KernelPanic, m: Machine, tainted: string): string {
  if (p.kind === 'warning') return warnText(m, p.task, p.func, p.where, p.frames, tainted, true, `panic:${p.what}`);
  const t = p.task;
  const l = layout(m, t);
  const modern = isModern(m);
  const salt = `${p.kind}:${p.func}:${p.what}`;
  const lines: string[] = [];
  const isNull = p.kind === 'oops';
  const cr2 = isNull ? BigInt(`0x${p.where}`) : lastCr2(l, p.frames, salt);
  const ctx = kernelContext(m, t, l, isNull ? 'null' : 'bug', p.func, p.frames, cr2, salt);
  if (isNull) {
    const addr = p.where;
    const nul = BigInt(`0x${addr}`) < 4096n;
    if (modern) {
      lines.push(nul ? `BUG: kernel NULL pointer dereference, address: ${addr}` : `BUG: unable to handle page fault for address: ${addr}`);
      lines.push('#PF: supervisor read access in kernel mode', '#PF: error_code(0x0000) - not-present page');
    } else {
      lines.push(`BUG: unable to handle kernel ${nul ? 'NULL pointer dereference' : 'paging request'} at ${addr}`);
      lines.push(`IP: ${ctx.sym}`);
    }
    lines.push(...pageWalk(m, l));
    lines.push(oopsLine(m, 'Oops', 0));
  } else {
    lines.push('------------[ cut here ]------------', `kernel BUG at ${p.where}!`, oopsLine(m, 'invalid opcode', 0));
  }
  if (!modern) lines.push('Modules linked in:');
  lines.push(...cpuLines(m, t, tainted));
  if (!modern) lines.push(`task: ${hex16(l.task)} task.stack: ${hex16(l.stack)}`);
  lines.push(...ctx.lines);
  lines.push(...callTraceBlock(m, t, l, p.frames, p.func, salt));
  if (modern) {
    lines.push('Modules linked in:');
    if (isNull) lines.push(`CR2: ${p.where}`);
    lines.push(endMarker(m), ...execSummary(ctx));
  } else {
    lines.push(ctx.code, `RIP: ${ctx.sym} RSP: ${hex16(ctx.rsp)}`);
    if (isNull) lines.push(`CR2: ${p.where}`);
    lines.push(endMarker(m));
  }
  return lines.join('\n');
}

/** The trap handler's frames between the WARN's ud0/ud2 and __warn (innermost last), for panic()'s dump_stack. */
function warnTrapFrames(m: Machine): string[] {
  return isModern(m)
    ? ['asm_exc_invalid_op', 'exc_invalid_op', 'handle_bug', 'report_bug', '__warn', 'panic', 'dump_stack']
    : ['invalid_op', 'do_invalid_op', 'do_error_trap', 'fixup_bug', 'report_bug', '__warn', 'panic', 'dump_stack'];
}

function warnText(m: Machine, t: Task, func: string, where: string, frames: readonly string[], tainted: string, panicOnWarn: boolean, salt: string): string {
  const l = layout(m, t);
  const modern = isModern(m);
  const ctx = kernelContext(m, t, l, 'warn', func, frames, lastCr2(l, frames, salt), salt);
  const lines = ['------------[ cut here ]------------', `WARNING: CPU: ${t.cpu} PID: ${t.pid} at ${where} ${ctx.sym}`];
  const panicMsg = 'panic_on_warn set ...';
  const regsAndTrace = (): string[] => [
    'Modules linked in:',
    ...cpuLines(m, t, tainted),
    ...(modern ? [] : [`task: ${hex16(l.task)} task.stack: ${hex16(l.stack)}`]),
    ...ctx.lines,
    ...callTraceBlock(m, t, l, frames, func, salt),
    ...(modern ? [] : [ctx.code]),
  ];
  if (!panicOnWarn) {
    lines.push(...regsAndTrace(), endMarker(m));
    return lines.join('\n');
  }
  // 4.13/4.14 panic before printing the registers; 5.x after
  if (modern) lines.push(...regsAndTrace());
  lines.push(`Kernel panic - not syncing: ${panicMsg}`);
  if (!modern) lines.push(''); // the message's own newline, then printk's
  // panic()'s dump_stack(): the CPU line, then a trace through the trap into the interrupted code
  const trap = warnTrapFrames(m);
  const interrupted = printedFrames(m, below(frames, func));
  lines.push(...cpuLines(m, t, tainted), 'Call Trace:');
  for (let i = trap.length - 1; i >= 0; i--) lines.push(` ${symbol(trap[i], trap[i + 1] ?? 'dump_stack_print_info')}`);
  // the trap's registers (the short form), then the interrupted function's callers and the user registers
  const short = ctx.lines.filter((x) => !/^(FS:|CS:|CR2:)/.test(x));
  lines.push(...short, ...traceLines(interrupted, func), ...userBlock(m, t, l, below(frames, func), salt, true));
  lines.push('Kernel Offset: disabled');
  lines.push(modern ? `---[ end Kernel panic - not syncing: ${panicMsg} ]---` : `---[ end Kernel panic - not syncing: ${panicMsg}`);
  if (!modern) lines.push('');
  return lines.join('\n');
}

/** A WARN_ON that did not stop the run. `tainted`: the flags set before it ('W' after an earlier WARN). */
export function warningText(w: Warning, m: Machine, tainted = ''): string {
  return warnText(m, w.task, w.func, w.where, w.frames, tainted, false, `warn:${w.where}:${w.step}`);
}

// ---- hung tasks -----------------------------------------------------------------

/** Seconds khungtaskd waits (hung_task_timeout_secs), and when in its next check it prints. */
export const HUNG_TIMEOUT_S = 120;
const HUNG_SEEN_AFTER_S = 122;

/** The step (one step is a microsecond of model time) at which khungtaskd reports a task blocked since `since`. */
export function hungReportStep(since: number): number {
  return since + HUNG_SEEN_AFTER_S * 1_000_000;
}

/**
 * A blocked task's call trace lines: the model's frames, then the sleep
 * itself. The model's frames of a rwsem wait end in the lock helper and
 * down_*; a lockdep kernel's xfs_ilock calls down_*_nested.
 */
function sleepTrace(m: Machine, t: Task): string[] {
  const st = t.stack;
  const top = st[st.length - 1];
  const modern = isModern(m);
  let model = st.slice();
  let sleep: string[] = ['schedule', '__schedule'];
  let lockCallKey: string | null = null;
  if (top === 'down_read' || top === 'down_write') {
    const read = top === 'down_read';
    const helper = st[st.length - 2] ?? '';
    const w: unknown = t.waiting;
    const semName = w instanceof RwSem ? w.name : '';
    model = st.slice(0, -1).concat(helper === 'xfs_ilock' ? `${top}_nested` : top);
    lockCallKey = lockCall(INLINED.has(helper) ? (st[st.length - 3] ?? helper) : helper, semName, !read);
    sleep = modern
      ? [read ? 'rwsem_down_read_slowpath' : 'rwsem_down_write_slowpath', ...sleep]
      : [read ? 'call_rwsem_down_read_failed' : 'call_rwsem_down_write_failed', read ? 'rwsem_down_read_failed' : 'rwsem_down_write_failed', ...sleep];
  } else if (top === '__lock_page') {
    sleep = ['io_schedule', ...sleep];
  }
  const frames = printedFrames(m, [...model, ...sleep]);
  const via = new Map<number, string>();
  if (lockCallKey) {
    // the frame that called down_*: its return address is the one lockdep recorded
    const at = frames.findIndex((f) => /^down_(read|write)/.test(f)) - 1;
    if (at >= 0) via.set(at, lockCallKey);
  }
  return traceLines(frames, '', via);
}

/** sched_show_task's line: 4.13-5.8 `comm  D    0  pid   ppid 0x00000000`, 5.11 `task:comm state:D stack: …`. */
function taskLine(m: Machine, t: Task, l: TaskLayout): string {
  const comm = t.comm.slice(0, 15).padEnd(15);
  if (baseOf(m) === '5.11') return `task:${comm} state:D stack:${'0'.padStart(5)} pid:${String(t.pid).padStart(5)} ppid:${String(l.ppid).padStart(6)} flags:0x00000000`;
  return `${comm} D${'0'.padStart(5)} ${String(t.pid).padStart(5)} ${String(l.ppid).padStart(6)} 0x00000000`;
}

/** One task's INFO block: the three lines of check_hung_task and sched_show_task's line and trace. */
function hungBlock(m: Machine, t: Task, tainted: string, blockedS: number): string[] {
  const l = layout(m, t);
  const lines = [
    `INFO: task ${t.comm}:${t.pid} blocked for more than ${isModern(m) ? blockedS : HUNG_TIMEOUT_S} seconds.`,
    `      ${printTainted(m, tainted)} ${releaseLine(m)}`,
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    taskLine(m, t, l),
    'Call Trace:',
    ...sleepTrace(m, t),
    // khungtaskd prints another task's stack: on 5.x it cannot read that task's user code
    ...userBlock(m, t, l, t.stack, `hung:${t.pid}`, false),
  ];
  return lines;
}

/** The tasks holding what t waits for, and what they wait for, as far as the waits go (a deadlock's cycle). */
function waitChain(t: Task): Task[] {
  const seen: Task[] = [t];
  let cur: Task | undefined = t;
  while (cur) {
    const w: unknown = cur.waiting;
    let next: Task | undefined;
    if (w instanceof RwSem) next = w.writer ?? w.readers.find((r) => r !== cur);
    else if (w instanceof PageLockWait) next = w.page.locker ?? undefined;
    if (!next || seen.includes(next)) break;
    seen.push(next);
    cur = next;
  }
  return seen;
}

/** Blocked in the kernel (TASK_UNINTERRUPTIBLE): waiting, and not in a sleep of user space. */
function blocked(t: Task): boolean {
  const w = t.waiting;
  return !!w && !w.isSleep && !t.done;
}

/** Every task the inode's locks know of: holders and waiters. */
function lockTasks(k: Kernel): Task[] {
  const out = new Set<Task>();
  for (const sem of [k.inode.iolock, k.inode.mmaplock]) {
    if (sem.writer) out.add(sem.writer);
    for (const r of sem.readers) out.add(r);
    for (const w of sem.waiters) out.add(w.t);
  }
  return [...out];
}

/**
 * The hung-task detector's report for a task that has been blocked since
 * `task.waitSince`: an INFO block for it and for every task blocked in the
 * chain of waits it starts (a deadlock's other side), in pid order as the
 * detector walks the task list; then the locks: per task on 4.13/4.14
 * (debug_show_held_locks), all tasks once on 5.x (debug_show_all_locks).
 * Print it at hungReportStep(task.waitSince).
 */
export function hungReport(k: Kernel, m: Machine, tainted: string, task: Task): string {
  const chain = waitChain(task).filter((t) => t === task || blocked(t));
  const hung = [...chain].sort((a, b) => a.pid - b.pid);
  const lines: string[] = [];
  const now = hungReportStep(task.waitSince);
  for (const t of hung) {
    const blockedS = Math.floor((now - t.waitSince) / 1_000_000);
    if (blockedS < HUNG_TIMEOUT_S) continue;
    lines.push(...hungBlock(m, t, tainted, blockedS));
    if (!isModern(m)) lines.push(...printHeldLocks(m, t, heldLocks(k, m, t)));
  }
  if (isModern(m)) {
    const all = new Set<Task>([...hung, ...lockTasks(k)]);
    lines.push(...showAllLocks(k, m, [...all]));
  }
  return lines.join('\n');
}

/**
 * The hung-task report for one task with the lock lines given (the old
 * call shape; `holders` is printed as it is: pass lockList(k, m, t) for
 * lockdep's format). hungReport() is the whole report.
 */
export function hungText(t: Task, m: Machine, tainted: string, holders: string[]): string {
  return [...hungBlock(m, t, tainted, HUNG_SEEN_AFTER_S), ...holders].join('\n');
}

export { lockList };

// ---- a fault that never completes ---------------------------------------------------

/** What the model knows of a fault that kept coming back. */
export interface NoProgress {
  task: Task;
  frames: string[];
  pgoff: number;
  tries: number;
}

/**
 * daxfsx's own words for a task that retried one fault without end. No
 * kernel reports this: between two tries the task returns to user space,
 * so it is neither blocked (the hung-task detector looks at tasks in D
 * state) nor stuck in the kernel with preemption off (the soft-lockup
 * watchdog); the kernel log stays silent while fsx spins. Every line says
 * whose words these are.
 */
export function noProgressText(e: NoProgress, m: Machine): string {
  const t = e.task;
  return [
    `daxfsx: ${t.comm}:${t.pid} made no progress: the fault on page ${e.pgoff} of its mapping of the file came back ${e.tries} times without mapping the page, and the model stopped the run.`,
    `daxfsx: the kernel would print nothing (${baseOf(m)} paths): between two tries the task is back in user space, so neither the hung-task detector (D-state tasks only) nor the soft-lockup watchdog (a CPU stuck in the kernel) fires; fsx would spin in its memcpy until killed.`,
    `daxfsx: kernel frames at the last try, outermost first: ${e.frames.join(' > ')}`,
  ].join('\n');
}

/** The old call shape: daxfsx's words for the retried fault, without the page and count. */
export function softLockupText(t: Task, m: Machine, _tainted: string, frames: string[]): string {
  return noProgressText({ task: t, frames, pgoff: -1, tries: 0 }, m)
    .replace(/the fault on page -1 of its mapping of the file came back 0 times/, 'a fault on its mapping of the file kept coming back');
}
