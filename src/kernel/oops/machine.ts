import type { Design, KernelVersion } from '../designs.js';
import { hash } from './symbols.js';

/** The machine a kernel report describes. */
export interface Machine {
  /** The release string (`uname -r`), e.g. `4.13.0+`. */
  version: string;
  hardware: string;
  seed: number;
  /** The kernel whose report format is printed; from `version` when absent. */
  base?: KernelVersion;
  /** What one boot prints once and counts (oops id, die counter); made on first use. */
  boot?: BootState;
}

/**
 * Per boot: print_oops_end_marker() prints one random 64-bit oops id,
 * incremented at every marker (init_oops_id), so a WARN and a later oops
 * of one boot end in consecutive ids; __die() numbers oopses [#1], [#2].
 */
export interface BootState {
  oopsId: bigint;
  dies: number;
}

/** A kernel built from its git tree with local changes, as the seed's `4.12.0+`. */
export function releaseOf(base: KernelVersion): string {
  return `${base}.0+`;
}

/** The Machine of a run: the design's kernel, the file system, the seed. */
export function machineFor(fs: 'xfs' | 'ext4', design: Design, seed: number): Machine {
  const base = design.base;
  return { version: releaseOf(base), hardware: `daxfsx model of ${fs} on pmem, design ${design.name}`, seed, base };
}

export function baseOf(m: Machine): KernelVersion {
  if (m.base) return m.base;
  const v = /^(\d+\.\d+)/.exec(m.version)?.[1];
  return v === '4.14' || v === '5.8' || v === '5.11' ? v : '4.13';
}

/** 5.8 and 5.11 print an oops in the order and words of the 4.15-4.20 reworks; 4.13 and 4.14 in the old ones. */
export function isModern(m: Machine): boolean {
  const b = baseOf(m);
  return b === '5.8' || b === '5.11';
}

export function boot(m: Machine): BootState {
  if (!m.boot) {
    const h = BigInt(hash(`oops-id:${m.seed}`)) << 32n;
    m.boot = { oopsId: h | BigInt(hash(`oops-id-lo:${m.seed}:${m.version}`)), dies: 0 };
  }
  return m.boot;
}

/** `---[ end trace <id> ]---`: the boot's oops id, one more at every marker. */
export function endMarker(m: Machine): string {
  const b = boot(m);
  b.oopsId = (b.oopsId + 1n) & 0xffffffffffffffffn;
  return `---[ end trace ${b.oopsId.toString(16).padStart(16, '0')} ]---`;
}

/**
 * print_tainted(): `Not tainted`, or `Tainted: ` and one character per
 * taint flag, 'G' or 'P' first, a space for each flag not set. 4.13 and
 * 4.14 have 16 flags (P F S R M B U D A W C I O E L K); 5.8 adds X (aux)
 * and T (randstruct). `flags` names the set ones by letter ('W' after a
 * WARN, 'D' after an oops); anything else in it is ignored, so the old
 * callers' 'G        W' still reads as W.
 */
export function printTainted(m: Machine, flags: string): string {
  const letters = isModern(m) ? 'PFSRMBUDAWCIOELKXT' : 'PFSRMBUDAWCIOELK';
  let any = false;
  let s = '';
  for (let i = 0; i < letters.length; i++) {
    const c = letters[i];
    const on = i > 0 && flags.includes(c);
    if (on) any = true;
    s += i === 0 ? (flags.includes('P') ? 'P' : 'G') : on ? c : ' ';
  }
  if (flags.includes('P')) any = true;
  return any ? `Tainted: ${s}` : 'Not tainted';
}

/** The `%s %.*s` after the taint: the release and the build number of `uname -v`. */
export function releaseLine(m: Machine): string {
  return `${m.version} #1`;
}
