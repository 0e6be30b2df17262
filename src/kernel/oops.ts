import type { Task } from '../sched/task.js';
import type { KernelPanic, Warning } from './core.js';

/** The simulated kernel log: lines stamped with simulated time. */
export class Dmesg {
  readonly lines: string[] = [];
  tainted = '';

  constructor(private readonly clock: { step: number }) {}

  /** Simulated time: the machine booted 300 s before the run, one step is a microsecond. */
  stamp(step = this.clock.step): string {
    const us = 300_000_000 + step;
    const s = Math.floor(us / 1e6);
    return `[${String(s).padStart(5)}.${String(us % 1e6).padStart(6, '0')}] `;
  }

  log(text: string, step?: number): void {
    const st = this.stamp(step);
    for (const l of text.split('\n')) this.lines.push(st + l);
  }

  text(): string {
    return this.lines.length ? this.lines.join('\n') + '\n' : '';
  }
}

/** FNV-1a, for deterministic symbol sizes, offsets and addresses. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seed's own symbol, kept as it was printed. */
const KNOWN: Record<string, [number, number]> = {
  iomap_page_mkwrite: [0x17, 0xf0],
};

/** func+0xOFF/0xSIZE: the seed's numbers where known, otherwise derived from the name. */
export function symbol(func: string, caller = ''): string {
  const known = KNOWN[func];
  if (known && !caller) return `${func}+0x${known[0].toString(16)}/0x${known[1].toString(16)}`;
  const h = hash(func);
  const size = known ? known[1] : 0x40 + ((h % 0x3c0) & ~0xf);
  const off = 5 + (hash(func + '<' + caller) % (size - 8));
  return `${func}+0x${off.toString(16)}/0x${size.toString(16)}`;
}

const hex16 = (n: bigint): string => n.toString(16).padStart(16, '0');

function regs(seed: number, nullArg: boolean): string[] {
  let h = hash(`regs:${seed}`);
  const next = (): bigint => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    return BigInt(h);
  };
  const kaddr = (): string => hex16(0xffff880000000000n + ((next() << 4n) & 0x7ffffff0n));
  const stack = hex16(0xffffc90001a00000n + ((next() & 0xfffn) << 3n));
  return [
    `RSP: 0000:${stack} EFLAGS: 00010246`,
    `RAX: 0000000000000000 RBX: ${kaddr()} RCX: 0000000000000000`,
    `RDX: 0000000000000000 RSI: ${kaddr()} RDI: ${nullArg ? '0000000000000000' : kaddr()}`,
    `RBP: ${stack} R08: 0000000000000000 R09: 0000000000000001`,
    `R10: ${kaddr()} R11: 0000000000000000 R12: ${kaddr()}`,
    `R13: ${kaddr()} R14: ${kaddr()} R15: 0000000000000000`,
    `FS:  00007f5d9c9a8700(0000) GS:ffff88007fd80000(0000) knlGS:0000000000000000`,
  ];
}

export interface Machine {
  version: string;
  hardware: string;
  seed: number;
}

function header(m: Machine, t: Task, tainted: string): string[] {
  return [
    'Modules linked in:',
    `CPU: ${t.cpu} PID: ${t.pid} Comm: ${t.comm} ${tainted ? `Tainted: ${tainted}` : 'Not tainted'} ${m.version} #1`,
    `Hardware name: ${m.hardware}`,
  ];
}

/** Call Trace lines: the task's frames below the failing function, innermost first. */
export function callTrace(frames: string[], func: string): string[] {
  const below = frames.slice();
  if (below[below.length - 1] === func) below.pop();
  const out: string[] = ['Call Trace:'];
  for (let i = below.length - 1; i >= 0; i--) out.push(` ${symbol(below[i], below[i + 1] ?? func)}`);
  return out;
}

function endTrace(seed: number, what: string): string {
  return `---[ end trace ${(BigInt(hash(`end:${seed}:${what}`)) << 32n | BigInt(hash(what))).toString(16).padStart(16, '0')} ]---`;
}

/** The oops or BUG text of a KernelPanic, in the seed's format. */
export function panicText(p: KernelPanic, m: Machine, tainted: string): string {
  const t = p.task;
  const sym = symbol(p.func);
  const lines: string[] = [];
  if (p.kind === 'oops') {
    lines.push(`BUG: unable to handle kernel NULL pointer dereference at ${p.where}`);
    lines.push(`IP: ${sym}`);
    lines.push('PGD 7b5c7067 ', 'P4D 7b5c7067 ', 'PUD 7b5c8067 ', 'PMD 0 ');
    lines.push('Oops: 0000 [#1] SMP');
  } else if (p.kind === 'bug') {
    lines.push('------------[ cut here ]------------');
    lines.push(`kernel BUG at ${p.where}!`);
    lines.push('invalid opcode: 0000 [#1] SMP');
  } else {
    lines.push('------------[ cut here ]------------');
    lines.push(`WARNING: CPU: ${t.cpu} PID: ${t.pid} at ${p.where} ${sym}`);
  }
  lines.push(...header(m, t, tainted));
  lines.push(`task: ffff88007b5b2d00 task.stack: ffffc90001a0c000`);
  lines.push(`RIP: 0010:${sym}`);
  lines.push(...regs(m.seed, p.kind === 'oops'));
  lines.push(`CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033`);
  lines.push(`CR2: ${p.kind === 'oops' ? p.where : '00007f5d9c4a1000'} CR3: 000000007b5c6000 CR4: 00000000000006e0`);
  lines.push(...callTrace(p.frames, p.func));
  if (p.kind !== 'warning') {
    lines.push('Code: 55 48 89 e5 41 57 41 56 41 55 41 54 53 48 83 ec 10 48 8b 5f 08 <48> 8b 47 20 a8 01 0f 85 8a 00 00 00 ');
    lines.push(`RIP: ${sym} RSP: ffffc90001a0fd38`);
    if (p.kind === 'oops') lines.push(`CR2: ${p.where}`);
  }
  lines.push(endTrace(m.seed, p.what));
  if (p.kind === 'warning') lines.push('Kernel panic - not syncing: panic_on_warn set ...', '');
  return lines.join('\n');
}

/** A WARN_ON that did not stop the run. */
export function warningText(w: Warning, m: Machine): string {
  const t = w.task;
  return [
    '------------[ cut here ]------------',
    `WARNING: CPU: ${t.cpu} PID: ${t.pid} at ${w.where} ${symbol(w.func)}`,
    ...header(m, t, ''),
    `task: ffff88007b5b2d00 task.stack: ffffc90001a0c000`,
    `RIP: 0010:${symbol(w.func)}`,
    ...regs(m.seed, false),
    ...callTrace(w.frames, w.func),
    endTrace(m.seed, w.what),
  ].join('\n');
}

/** The hung-task detector's report for a blocked task. */
export function hungText(t: Task, m: Machine, tainted: string, holders: string[]): string {
  const frames = t.stack.slice();
  const lock = frames[frames.length - 1] ?? 'down_read';
  const write = lock === 'down_write';
  return [
    `INFO: task ${t.comm}:${t.pid} blocked for more than 120 seconds.`,
    `      ${tainted ? `Tainted: ${tainted}` : 'Not tainted'} ${m.version} #1`,
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    `${t.comm.padEnd(15)} D    0 ${String(t.pid).padStart(5)} ${String(t.pid - 1).padStart(6)} 0x00000000`,
    'Call Trace:',
    ` ${symbol('__schedule', 'schedule')}`,
    ` ${symbol('schedule', write ? 'rwsem_down_write_failed' : 'rwsem_down_read_failed')}`,
    ` ${symbol(write ? 'rwsem_down_write_failed' : 'rwsem_down_read_failed', lock)}`,
    ` ${symbol(write ? 'call_rwsem_down_write_failed' : 'call_rwsem_down_read_failed', lock)}`,
    ...callTrace(frames, '').slice(1),
    '',
    'Showing all locks held in the system:',
    ...holders.map((h) => ` ${h}`),
  ].join('\n');
}

/** The soft-lockup watchdog's report for a fault that keeps retrying. */
export function softLockupText(t: Task, m: Machine, tainted: string, frames: string[]): string {
  return [
    `NMI watchdog: BUG: soft lockup - CPU#${t.cpu} stuck for 22s! [${t.comm}:${t.pid}]`,
    ...header(m, t, tainted),
    `RIP: 0010:${symbol('handle_mm_fault')}`,
    ...callTrace(frames, 'handle_mm_fault'),
  ].join('\n');
}
