/**
 * The numbers in a report that no model can know (addresses, register
 * contents, instruction bytes), chosen so that they agree with each other
 * and with the kernel's layout, and so that the instruction at RIP decodes
 * to what failed there:
 *
 * - each task has its own task_struct and its own 16 KiB stack (vmalloc'd,
 *   THREAD_SIZE aligned); its user registers sit in the pt_regs at the top
 *   of that stack, and the kernel RSP lies below them by the frames of the
 *   call trace, so RSP is inside [task.stack, task.stack + 0x4000) and the
 *   same in the register dump and in the trailer;
 * - each CPU its own per-CPU base (GS), each process its own page tables
 *   (CR3, the page-table walk) and TLS (FS);
 * - the faulting instruction of a NULL dereference loads 0x20 off a
 *   register that holds 0 in the dump (CR2 = 0x20); a BUG is `ud2`
 *   (<0f> 0b); a WARN is `ud0` (<0f> ff) on 4.13/4.14 and `ud2` from
 *   4.20 on;
 * - user registers after the entry frame: for a system call RCX holds the
 *   return RIP and R11 the flags (SYSCALL saves them there), RAX -ENOSYS
 *   and ORIG_RAX the call's number; for a page fault from user space no
 *   ORIG_RAX, and CR2 is the user address that faulted.
 *
 * What is left out: the user-space `Code:` bytes of a 5.x report on the
 * failing task (they are glibc's, which the model does not have).
 */
import type { Task } from '../../sched/task.js';
import { baseOf, isModern, type Machine } from './machine.js';
import { hash } from './symbols.js';

export const hex16 = (n: bigint): string => BigInt.asUintN(64, n).toString(16).padStart(16, '0');
export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

const THREAD_SIZE = 0x4000n;
/** sizeof(struct pt_regs) on x86_64. */
const PT_REGS = 0xa8n;

/** A deterministic stream of numbers from a name. */
export function stream(name: string): () => bigint {
  let h = hash(name) || 1;
  return () => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
    return BigInt(h >>> 0);
  };
}

/** Where one task's things are. */
export interface TaskLayout {
  task: bigint;
  stack: bigint;
  /** The per-CPU base of the task's CPU. */
  gs: bigint;
  /** The process's TLS (FS base). */
  fs: bigint;
  cr3: bigint;
  /** The first-level page-table entries down to the first 2 MiB of user space. */
  pgd: bigint;
  pud: bigint;
  /** Its parent's pid (the shell that started it). */
  ppid: number;
  /** User space: libc's text, the stack, a mapping of the test file, the heap buffers. */
  libc: bigint;
  ustack: bigint;
  map: bigint;
  heap: bigint;
}

/** The direct map: 4.13/4.14 at ffff880000000000, 5.x (after 4.20's move) at ffff888000000000. */
export function pageOffset(m: Machine): bigint {
  return isModern(m) ? 0xffff888000000000n : 0xffff880000000000n;
}

/** A kernel heap address (slab), 64-byte aligned, in a 2 GiB machine. */
export function heapAddr(m: Machine, name: string): bigint {
  return pageOffset(m) + 0x40000000n + ((BigInt(hash(`heap:${name}`)) << 6n) & 0x3fffffc0n);
}

export function layout(m: Machine, t: Task): TaskLayout {
  const po = pageOffset(m);
  const p = t.pid;
  const n = stream(`task:${p}:${baseOf(m)}`);
  // task_struct: slab objects, three to an order-3 slab
  const task = po + 0x70000000n + (n() % 0x7ffn) * 0x8000n + (n() % 3n) * 0x2d00n;
  const stack = 0xffffc90000000000n + (0x400n + (n() % 0x3000n)) * THREAD_SIZE;
  // per-CPU areas at the top of memory, 0x80000 apart
  const gs = po + 0x7fc00000n + BigInt(t.cpu) * 0x80000n;
  const proc = stream(`proc:${p}`);
  const cr3 = (0x10000000n + (proc() % 0x6f000n) * 0x1000n) & ~0xfffn;
  const libc = 0x7f0000000000n + ((proc() % 0xffffn) << 24n);
  return {
    task,
    stack,
    gs,
    fs: libc + 0x5c7700n,
    cr3,
    pgd: (cr3 + 0x1000n) | 0x67n,
    pud: (cr3 + 0x2000n) | 0x67n,
    ppid: p - 1,
    libc,
    ustack: 0x7ffc00000000n + ((proc() % 0x3ffffffn) << 4n),
    map: libc - 0x400000n - (proc() % 0x40n) * 0x100000n,
    heap: libc - 0x2000000n,
  };
}

/** CR3 as printed: 4.14 and later keep the address space's PCID in the low bits. */
export function cr3Value(m: Machine, l: TaskLayout): bigint {
  return baseOf(m) === '4.13' ? l.cr3 : l.cr3 | (1n + (l.cr3 >> 12n) % 6n);
}

/** CR4: PSE PAE MCE PGE OSFXSR OSXMMEXCPT OSXSAVE SMEP SMAP, and PCIDE from 4.14. */
export function cr4Value(m: Machine): bigint {
  return baseOf(m) === '4.13' ? 0x3406e0n : 0x3606e0n;
}

/** Bytes one printed frame takes on the stack (return address, saved RBP, saved registers, locals). */
export function frameBytes(func: string): bigint {
  return 0x18n + BigInt((hash(`frame:${func}`) % 20) * 8);
}

/**
 * The kernel RSP of the innermost printed frame: below the user pt_regs at
 * the top of the stack by every frame between (printed innermost first;
 * the last is the entry stub, whose frame is the pt_regs itself).
 */
export function kernelRsp(l: TaskLayout, printed: string[]): bigint {
  let sp = l.stack + THREAD_SIZE - PT_REGS;
  for (let i = printed.length - 2; i >= 0; i--) sp -= frameBytes(printed[i]);
  return sp;
}

/** A user address that faulted: a page of the test file's mapping, at an offset the copy had reached. */
export function userFaultAddress(l: TaskLayout, salt: string): bigint {
  const n = stream(`ufault:${salt}`);
  return l.map + (n() % 16n) * 0x1000n + ((n() % 0x100n) << 4n);
}

/** x86_64 system call numbers of the calls the model enters by. */
const SYSCALL_NR: Record<string, number> = {
  read: 0,
  write: 1,
  open: 2,
  close: 3,
  mmap: 9,
  munmap: 11,
  ioctl: 16,
  pread64: 17,
  pwrite64: 18,
  msync: 26,
  fsync: 74,
  ftruncate: 77,
  fallocate: 285,
  copy_file_range: 326,
};

/** The user registers at kernel entry, as __show_regs prints them (without the FS/CS/CR lines). */
export interface UserRegs {
  rip: bigint;
  rsp: bigint;
  eflags: number;
  origAx: bigint | null;
  gp: bigint[]; // rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15
}

/**
 * The task's user registers: entered by `syscall` (frame SyS_<name>) or by
 * a page fault in a user memcpy (the `page_fault` frame).
 */
export function userRegs(m: Machine, t: Task, l: TaskLayout, frames: string[], salt: string): UserRegs {
  const n = stream(`user:${t.pid}:${salt}`);
  const sys = frames.find((f) => f.startsWith('SyS_'));
  const viaFault = frames[0] === 'page_fault' || (!sys && frames.includes('page_fault'));
  const rsp = l.ustack - ((n() % 0x400n) << 3n);
  if (viaFault || !sys) {
    // glibc's memmove, copying between fsx's buffer and the mapping: the mapping is the
    // destination of a write fault, the source of a read fault; either way the address that faulted
    const rip = l.libc + 0x14a000n + (n() % 0x800n);
    const write = frames.includes('do_shared_fault') || frames.includes('do_wp_page');
    const mapped = userFaultAddress(l, salt);
    const buf = l.heap + (n() % 0x40000n);
    const [dst, src] = write ? [mapped, buf] : [buf, mapped];
    const left = 1n + (n() % 0x8000n);
    return {
      rip,
      rsp,
      eflags: 0x10206,
      origAx: null,
      gp: [dst & ~0x1fn, n() % 0x100n, left >> 5n, left, src, dst, rsp + 0x60n, 0n, 0n, l.map, 0x246n, buf - 0x1000n, 0n, 0n, 0n],
    };
  }
  const name = sys.slice(4);
  const nr = BigInt(SYSCALL_NR[name] ?? 0);
  const rip = l.libc + 0xf0000n + ((BigInt(hash(`sys:${name}`)) % 0x1000n) & ~0xfn) + 0xdn;
  const fdCall = name !== 'open' && name !== 'mmap' && name !== 'munmap' && name !== 'msync';
  const rdi = fdCall ? 3n : name === 'open' ? rsp + 0x200n : l.map;
  return {
    rip,
    rsp,
    eflags: 0x246,
    origAx: nr,
    // RAX -ENOSYS until the call returns; RCX and R11 are what SYSCALL saved
    gp: [-38n, 0n, rip, n() % 0x10000n, l.heap + (n() % 0x40000n), rdi, rsp + 0x40n, 0n, 0n, n() % 0x40000n, 0x246n, 0n, 0n, 0n, 0n],
  };
}

/** RAX..R15 as the five lines __show_regs prints. */
export function gpLines(gp: bigint[]): string[] {
  const h = gp.map(hex16);
  return [
    `RAX: ${h[0]} RBX: ${h[1]} RCX: ${h[2]}`,
    `RDX: ${h[3]} RSI: ${h[4]} RDI: ${h[5]}`,
    `RBP: ${h[6]} R08: ${h[7]} R09: ${h[8]}`,
    `R10: ${h[9]} R11: ${h[10]} R12: ${h[11]}`,
    `R13: ${h[12]} R14: ${h[13]} R15: ${h[14]}`,
  ];
}

/** The `RSP: ss:sp EFLAGS: flags[ ORIG_RAX: nr]` line. */
export function rspLine(ss: number, sp: bigint, eflags: number, origAx: bigint | null): string {
  return `RSP: ${ss.toString(16).padStart(4, '0')}:${hex16(sp)} EFLAGS: ${hex8(eflags)}${origAx === null ? '' : ` ORIG_RAX: ${hex16(origAx)}`}`;
}

// ---- instruction bytes ------------------------------------------------------------

/** What the instruction at RIP is. */
export type TrapKind = 'null' | 'bug' | 'warn';

/** Function entry with ftrace's patched-out call: nopl 0x0(%rax,%rax,1); push %rbp; mov %rsp,%rbp; push %r14; push %r13; push %r12; push %rbx. */
const PROLOGUE = [0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54, 0x53];
/** pop %rbx; pop %r12; pop %r13; pop %r14; pop %rbp; ret */
const EPILOGUE = [0x5b, 0x41, 0x5c, 0x41, 0x5d, 0x41, 0x5e, 0x5d, 0xc3];
/** Whole instructions for a function body, by length. */
const BODY: number[][] = [
  [0x48, 0x89, 0xfb], // mov %rdi,%rbx
  [0x49, 0x89, 0xf4], // mov %rsi,%r12
  [0x48, 0x8b, 0x47, 0x08], // mov 0x8(%rdi),%rax
  [0x31, 0xd2], // xor %edx,%edx
  [0x48, 0x85, 0xc0], // test %rax,%rax
  [0x74, 0x2a], // je +0x2a
  [0x4c, 0x89, 0xe7], // mov %r12,%rdi
  [0x89, 0xc3], // mov %eax,%ebx
  [0x48, 0x8b, 0x43, 0x10], // mov 0x10(%rbx),%rax
  [0x41, 0x89, 0xc5], // mov %eax,%r13d
  [0x85, 0xc0], // test %eax,%eax
  [0x75, 0x17], // jne +0x17
];

/** Fill exactly n bytes with whole instructions, chosen from the name. */
function body(n: number, name: string): number[] {
  const out: number[] = [];
  const r = stream(`body:${name}`);
  while (out.length < n) {
    const left = n - out.length;
    if (left === 1) {
      out.push(0x90); // nop
      break;
    }
    if (left <= 5 && r() % 3n === 0n) {
      out.push(...(left === 5 ? [0xe8, Number(r() & 0xffn), Number(r() & 0xffn), 0xff, 0xff] : left === 4 ? [0x48, 0x8b, 0x47, 0x10] : left === 3 ? [0x48, 0x89, 0xc7] : [0x31, 0xc0]));
      continue;
    }
    const fit = BODY.filter((i) => i.length <= left && left - i.length !== 1);
    const ins = fit[Number(r() % BigInt(fit.length))] ?? [0x90];
    out.push(...ins);
  }
  return out;
}

/** The multi-byte NOPs an assembler pads with (the recommended forms, longest first). */
const NOPS: number[][] = [
  [0x90],
  [0x66, 0x90],
  [0x0f, 0x1f, 0x00],
  [0x0f, 0x1f, 0x40, 0x00],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

function nops(n: number): number[] {
  const out: number[] = [];
  while (n > 0) {
    const k = Math.min(n, NOPS.length);
    out.push(...NOPS[k - 1]);
    n -= k;
  }
  return out;
}

/** The faulting instruction and what follows it, by kind. */
function trapBytes(m: Machine, kind: TrapKind, name: string): number[] {
  if (kind === 'null') {
    // compound_head(page): mov 0x20(%rbx),%rax; test $0x1,%al; lea -0x1(%rax),%rdx; cmovne %rdx,%rbx;
    // then trylock_page: lock btsl $0x0,(%rbx); jb (to __lock_page)
    return [0x48, 0x8b, 0x43, 0x20, 0xa8, 0x01, 0x48, 0x8d, 0x50, 0xff, 0x48, 0x0f, 0x45, 0xda, 0xf0, 0x0f, 0xba, 0x2b, 0x00, 0x72, 0x4f, 0x4c, 0x89, 0xef, 0xe8];
  }
  // BUG: ud2, then the next BUG_ON's ud2 or the jump back; WARN: ud0 (4.13/4.14) or ud2, then the jump back
  const ud = kind === 'warn' && !isModern(m) ? [0x0f, 0xff] : [0x0f, 0x0b];
  const back = kind === 'bug' ? [0x0f, 0x0b] : [0xe9, 0x3c, 0xff, 0xff, 0xff];
  return [...ud, ...back, ...body(24, `after:${name}`)];
}

/**
 * The `Code:` line: 64 bytes around RIP with the byte at RIP in <>.
 * 4.13/4.14 print 43 before and 20 after, each byte followed by a space;
 * 5.x 42 before and 21 after, space-separated.
 */
export function codeLine(m: Machine, kind: TrapKind, func: string, off: number): string {
  const before = isModern(m) ? 42 : 43;
  const after = isModern(m) ? 21 : 20;
  // the function from its start up to RIP
  let fn: number[];
  if (kind === 'null' && off >= PROLOGUE.length + 7) {
    // load vmf->page into %rbx, keep vmf in %r13, then whatever else the function does first
    fn = [...PROLOGUE, 0x48, 0x8b, 0x5f, 0x48, 0x49, 0x89, 0xfd];
    fn.push(...body(off - fn.length, func));
  } else if (off >= PROLOGUE.length) {
    const tail = kind === 'null' ? [] : EPILOGUE; // a trap's cold block follows the hot path's return
    const mid = off - PROLOGUE.length - tail.length;
    fn = mid >= 0 ? [...PROLOGUE, ...body(mid, func), ...tail] : [...PROLOGUE, ...body(off - PROLOGUE.length, func)];
  } else {
    fn = PROLOGUE.slice(0, off);
  }
  // the previous function's end, then nop padding to this one's 16-byte aligned start
  const pad = Number(BigInt(hash(`pad:${func}`)) % 16n);
  const padding = nops(pad);
  const prev = [...body(Math.max(0, before - pad - EPILOGUE.length), `prev:${func}`), ...EPILOGUE, ...padding];
  const all = [...prev, ...fn];
  const pre = all.slice(all.length - before);
  const tb = trapBytes(m, kind, func);
  const post = tb.slice(1, 1 + after);
  const h = (b: number): string => b.toString(16).padStart(2, '0');
  if (isModern(m)) return `Code: ${pre.map(h).join(' ')} <${h(tb[0])}> ${post.map(h).join(' ')}`;
  return `Code: ${pre.map((b) => h(b) + ' ').join('')}<${h(tb[0])}> ${post.map((b) => h(b) + ' ').join('')}`;
}
