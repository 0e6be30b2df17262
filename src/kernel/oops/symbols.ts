/**
 * Kernel symbols as an oops prints them: `func+0xOFF/0xSIZE`, and the text
 * addresses lockdep prints with them. The model has no vmlinux, so sizes,
 * offsets and addresses are derived from the names, deterministically,
 * inside the kernel's layout (text from 0xffffffff81000000, functions
 * 16-byte aligned, an offset always inside its function). A few symbols
 * have known sizes: the seed's, and the small assembly entry stubs, whose
 * sizes are set by their few instructions rather than by a compiler.
 */

/** FNV-1a, for deterministic sizes, offsets, addresses and register values. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * [offset of the return address (or fault), size]. iomap_page_mkwrite is
 * the seed's own line. The entry stubs: a 4.13/4.14 `idtentry` (page_fault,
 * invalid_op) is 0x30 bytes with its call near the end; 5.8's
 * asm_exc_page_fault the same; call_rwsem_down_*_failed is a 0x30-byte
 * register-saving thunk.
 */
const KNOWN: Record<string, [number, number]> = {
  iomap_page_mkwrite: [0x17, 0xf0],
  page_fault: [0x22, 0x30],
  invalid_op: [0x1b, 0x30],
  asm_exc_page_fault: [0x1e, 0x30],
  asm_exc_invalid_op: [0x12, 0x20],
  call_rwsem_down_read_failed: [0x18, 0x30],
  call_rwsem_down_write_failed: [0x17, 0x30],
  entry_SYSCALL_64_fastpath: [0x1f, 0xbe],
  entry_SYSCALL_64_after_hwframe: [0x44, 0xa9],
};

function sizeOf(func: string): number {
  const k = KNOWN[func];
  if (k) return k[1];
  return 0x40 + ((hash(func) % 0x3c0) & ~0xf);
}

/** An offset past the function's entry (ftrace's 5-byte call, the frame set-up) and before its end. */
function derivedOffset(func: string, caller: string, size: number): number {
  return 0x10 + (hash(func + '<' + caller) % (size - 0x18));
}

/**
 * func+0xOFF/0xSIZE. `caller` is the frame it was called from (for a return
 * address in a call trace) or '' for the faulting instruction itself; the
 * known symbols keep their known offsets either way.
 */
export function symbol(func: string, caller = ''): string {
  const k = KNOWN[func];
  const size = sizeOf(func);
  const off = k && (!caller || func !== 'iomap_page_mkwrite') ? k[0] : derivedOffset(func, caller, size);
  return `${func}+0x${off.toString(16)}/0x${size.toString(16)}`;
}

/**
 * The symbol of a trapping instruction: the seed's known offset, or for a
 * BUG/WARN trap (the compiler puts those cold blocks after the hot path)
 * an offset past the function's prologue.
 */
export function trapSymbol(func: string, trap: boolean): { sym: string; off: number } {
  const k = KNOWN[func];
  const size = sizeOf(func);
  const off = k ? k[0] : trap ? 0x20 + (hash(func + '<trap') % (size - 0x30)) : derivedOffset(func, '', size);
  return { sym: `${func}+0x${off.toString(16)}/0x${size.toString(16)}`, off };
}

/** The function's start in kernel text (built in: no modules are loaded). */
export function textAddress(func: string): bigint {
  return 0xffffffff81000000n + (BigInt(hash('text:' + func) % 0xa00000) & ~0xfn);
}

/** The address a symbol string names (`func+0xOFF/...`). */
export function addressOf(sym: string): bigint {
  const m = /^(.+)\+0x([0-9a-f]+)\//.exec(sym);
  if (!m) return textAddress(sym);
  return textAddress(m[1]) + BigInt(`0x${m[2]}`);
}

/**
 * Functions a real build compiles into their callers, so no frame of
 * theirs is on the stack to print: static inlines from headers
 * (lock_page, trylock_page, compound_head, inode_lock), and static
 * functions with a single caller, which gcc inlines at -O2 (do_fault and
 * handle_pte_fault into __handle_mm_fault; do_shared_fault, do_read_fault
 * and do_cow_fault into do_fault; wp_pfn_shared and wp_page_shared into
 * do_wp_page). `ext4_i_mmap_sem` is no function at all: ext4 takes
 * i_mmap_sem in place. The model keeps them on its stack; only printing
 * leaves them out. Large or multiply-called static functions
 * (__handle_mm_fault, do_page_mkwrite, dax_iomap_pte_fault) and 4.13's
 * `static noinline` __do_page_fault stay.
 */
export const INLINED: ReadonlySet<string> = new Set([
  'compound_head',
  'trylock_page',
  'lock_page',
  'do_fault',
  'handle_pte_fault',
  'do_shared_fault',
  'do_read_fault',
  'do_cow_fault',
  'wp_pfn_shared',
  'wp_page_shared',
  'inode_lock',
  'inode_lock_shared',
  'ext4_i_mmap_sem',
]);

/** A frame name the model uses, as a 5.8/5.11 kernel names it (the 4.13 and 4.14 names are the model's own). */
export function modernName(f: string): string[] {
  if (f === 'entry_SYSCALL_64_fastpath') return ['entry_SYSCALL_64_after_hwframe', 'do_syscall_64'];
  if (f.startsWith('SyS_')) return [`__x64_sys_${f.slice(4)}`];
  if (f === 'page_fault') return ['asm_exc_page_fault'];
  if (f === 'do_page_fault') return ['exc_page_fault'];
  if (f === '__do_page_fault') return ['do_user_addr_fault'];
  return [f];
}
