/**
 * The designs for switching DAX on a live file (KERNEL.md §6,
 * KERNEL-HISTORY.md). A design is a kernel release (`base`: whose code the
 * paths run, with `k.v >= V4_14`-style switches where a release changed a
 * function) plus, for the fixes proposed on 4.13, the mechanics the
 * proposal adds. The model's paths read these fields, never the name.
 */
/** The kernel release whose code a design's paths run (KERNEL-HISTORY.md). */
export type KernelVersion = '4.13' | '4.14' | '5.8' | '5.11';

export interface Design {
  readonly name: string;
  /** The kernel the paths are taken from; a design is this kernel plus its own mechanics below. */
  readonly base: KernelVersion;
  /**
   * Jan Kara's first fix, proposed on 4.13: read/write and the fault
   * handlers test IS_DAX only while holding the lock the flip takes
   * exclusively (4.13 itself tests it before taking any lock).
   */
  readonly decideUnderLock: boolean;
  /** Jan Kara's suggestion on top: the flip fails with EBUSY while mapping_mapped(). */
  readonly refuseWhileMapped: boolean;
  readonly summary: string;
}

const immediate: Design = {
  name: 'immediate',
  base: '4.13',
  decideUnderLock: false,
  refuseWhileMapped: false,
  summary: 'Linux 4.13: IS_DAX tested before locking; the flip invalidates and sets S_DAX at once',
};

export const DESIGNS = {
  immediate,
  locked: {
    ...immediate,
    name: 'locked',
    decideUnderLock: true,
    summary: "Jan Kara's first fix on 4.13: every IS_DAX decision under the lock the flip takes",
  },
  'refuse-mapped': {
    ...immediate,
    name: 'refuse-mapped',
    decideUnderLock: true,
    refuseWhileMapped: true,
    summary: 'locked, and the flip fails with EBUSY while the file is mapped',
  },
  ignored: {
    ...immediate,
    name: 'ignored',
    base: '4.14',
    summary: 'Linux 4.14: the flag changes on disk, still flushes and invalidates; S_DAX only at inode load',
  },
  'deferred-5.8': {
    ...immediate,
    name: 'deferred-5.8',
    base: '5.8',
    summary: 'Linux 5.8 as merged: the flag marks inode and dentry don\'t-cache; S_DAX at the next load (with the two bugs fixed in 5.11)',
  },
  deferred: {
    ...immediate,
    name: 'deferred',
    base: '5.11',
    summary: 'Linux 5.11 and later: the 5.8 design with its dput and iput_final fixes',
  },
} as const satisfies Record<string, Design>;

export type DesignName = keyof typeof DESIGNS;
/** The designs' names, in the table's order. */
export const DESIGN_NAMES = Object.keys(DESIGNS) as readonly DesignName[];

/** A release as a number that compares: 4.13 -> 413, 5.8 -> 508. */
export const V4_13 = 413;
export const V4_14 = 414;
export const V5_8 = 508;
export const V5_11 = 511;

/** '4.13' -> 413. */
export function versionNumber(v: KernelVersion): number {
  const [a, b] = v.split('.').map(Number);
  return a * 100 + b;
}

/** `uname -r` of the modelled kernel, for the oops header. */
export function release(v: KernelVersion): string {
  return v === '4.13' ? '4.13.0+' : `${v}.0`;
}
