/** fsx's operation codes, in the order its random stream indexes them. */
export const OP = {
  READ: 0,
  READ_DONTCACHE: 1,
  WRITE: 2,
  WRITE_DONTCACHE: 3,
  WRITE_ATOMIC: 4,
  MAPREAD: 5,
  MAPWRITE: 6,
  TRUNCATE: 7,
  FALLOCATE: 8,
  PUNCH_HOLE: 9,
  ZERO_RANGE: 10,
  COLLAPSE_RANGE: 11,
  INSERT_RANGE: 12,
  CLONE_RANGE: 13,
  DEDUPE_RANGE: 14,
  COPY_RANGE: 15,
  EXCHANGE_RANGE: 16,
  FSYNC: 17,
} as const;

/** rv % OP_MAX_LITE with -L, rv % OP_MAX_FULL normally, rv % OP_MAX_INTEGRITY with -i. */
export const OP_MAX_LITE = 7;
export const OP_MAX_FULL = 17;
export const OP_MAX_INTEGRITY = 18;

/** Names used in .fsxops files, indexed by op code. */
export const OP_NAMES: readonly string[] = [
  'read',
  'read_dontcache',
  'write',
  'write_dontcache',
  'write_atomic',
  'mapread',
  'mapwrite',
  'truncate',
  'fallocate',
  'punch_hole',
  'zero_range',
  'collapse_range',
  'insert_range',
  'clone_range',
  'dedupe_range',
  'copy_range',
  'exchange_range',
  'fsync',
];

const CODES = new Map(OP_NAMES.map((n, i) => [n, i]));

export function opCode(name: string): number {
  return CODES.get(name) ?? -1;
}

/** Operations that carry a destination offset (4 arguments in .fsxops). */
export function opArgsCount(op: number): 3 | 4 {
  return op === OP.CLONE_RANGE || op === OP.DEDUPE_RANGE || op === OP.COPY_RANGE || op === OP.EXCHANGE_RANGE
    ? 4
    : 3;
}

/** Log entry flags, as fsx keeps them. */
export const FL = {
  NONE: 0,
  SKIPPED: 1,
  CLOSE_OPEN: 2,
  KEEP_SIZE: 4,
  UNSHARE: 8,
} as const;

/** preadv2/pwritev2 flags fsx passes. */
export const RWF_ATOMIC = 0x40;
export const RWF_DONTCACHE = 0x80;

/** fallocate modes. */
export const FALLOC = {
  KEEP_SIZE: 0x01,
  PUNCH_HOLE: 0x02,
  COLLAPSE_RANGE: 0x08,
  ZERO_RANGE: 0x10,
  INSERT_RANGE: 0x20,
  UNSHARE_RANGE: 0x40,
} as const;
