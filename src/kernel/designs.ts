/**
 * The designs for switching DAX on a live file (KERNEL.md §6). Each is a
 * small difference from `immediate`, expressed as the mechanics it changes;
 * the model's paths read these fields, never the design's name.
 */
/** The kernel release whose code a design's paths run (KERNEL-HISTORY.md). */
export type KernelVersion = '4.13' | '4.14' | '5.8' | '5.11';

export interface Design {
  readonly name: string;
  /** The kernel the paths are taken from; a design is this kernel plus its own mechanics below. */
  readonly base: KernelVersion;
  /**
   * Where read/write and the fault handlers test IS_DAX: false tests it
   * before taking any lock (the 4.13 code), true tests it only while
   * holding the lock the flip takes exclusively.
   */
  readonly decideUnderLock: boolean;
  /** The flip fails with EBUSY while mapping_mapped(). */
  readonly refuseWhileMapped: boolean;
  /**
   * What the flip does to the in-memory S_DAX: 'now' sets it in the
   * ioctl, 'never' leaves it alone, 'on-reload' sets I_DONTCACHE and lets
   * the next inode load pick up the on-disk flag.
   */
  readonly sDaxUpdate: 'now' | 'never' | 'on-reload';
  /** Whether the flip invalidates the page cache and mappings before changing S_DAX. */
  readonly invalidateOnFlip: boolean;
  readonly summary: string;
}

const immediate: Design = {
  name: 'immediate',
  base: '4.13',
  decideUnderLock: false,
  refuseWhileMapped: false,
  sDaxUpdate: 'now',
  invalidateOnFlip: true,
  summary: 'the 4.13 paths: IS_DAX tested before locking, S_DAX changed in the ioctl',
};

export const DESIGNS = {
  immediate,
  locked: {
    ...immediate,
    name: 'locked',
    decideUnderLock: true,
    summary: "Jan Kara's first fix: every IS_DAX decision under the lock the flip takes",
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
    sDaxUpdate: 'never',
    invalidateOnFlip: false,
    summary: 'Linux 4.14: the on-disk flag changes, S_DAX never changes at runtime',
  },
  deferred: {
    ...immediate,
    name: 'deferred',
    base: '5.11',
    sDaxUpdate: 'on-reload',
    invalidateOnFlip: false,
    summary: 'Linux 5.8: the on-disk flag changes now, S_DAX when the inode is next loaded',
  },
} as const satisfies Record<string, Design>;

export type DesignName = keyof typeof DESIGNS;
/** The designs' names, in the table's order. */
export const DESIGN_NAMES = Object.keys(DESIGNS) as readonly DesignName[];
