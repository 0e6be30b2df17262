import type { DaxMount } from '../core.js';
import { V5_8 } from '../designs.js';

/**
 * The DAX mount option, as each release parsed it: 4.13 and 4.14 know
 * `-o dax` only (xfs_parseargs, ext4's parse_options); 5.8 adds the
 * tri-state `dax=always|inode|never`, with a bare `dax` meaning always
 * (xfs_fc_parse_param 8d6c3446ec23, ext4 9cb20f94afcd). Without an option
 * 5.8 behaves as dax=inode.
 */

/** The default a run mounts with: XFS without an option (the per-file flag decides), ext4 before 5.8 with -o dax (its only DAX), 5.8+ dax=inode. */
export function defaultMount(v: number, fs: 'xfs' | 'ext4'): DaxMount {
  if (v >= V5_8) return 'inode';
  return fs === 'ext4' ? 'dax' : 'none';
}

/** Parse `--mount` for a release: returns the option, or why the release would refuse it. */
export function parseMount(v: number, text: string): DaxMount | { error: string } {
  const s = text.trim();
  if (s === '' || s === 'none' || s === 'nodax') return v >= V5_8 ? 'inode' : 'none';
  if (s === 'dax') return v >= V5_8 ? 'always' : 'dax';
  const m = /^dax=(always|inode|never)$/.exec(s);
  if (m) {
    if (v < V5_8) return { error: `'${s}': the tri-state dax= option arrived in Linux 5.8; this release knows only 'dax'` };
    return m[1] as DaxMount;
  }
  return { error: `'${s}': expected 'dax', 'none'${v >= V5_8 ? " or 'dax=always|inode|never'" : ''}` };
}

/** The mount option as `mount -o` spells it, for the log. */
export function mountText(m: DaxMount): string {
  return m === 'none' ? '' : m === 'dax' ? 'dax' : `dax=${m}`;
}

/** The lines the file system logs when mounted (the "DAX enabled" warning for a DAX-everywhere mount). */
export function mountLog(fs: 'xfs' | 'ext4', m: DaxMount): string[] {
  const daxAll = m === 'dax' || m === 'always';
  if (fs === 'xfs') {
    return [...(daxAll ? ['XFS (pmem0): DAX enabled. Warning: EXPERIMENTAL, use at your own risk'] : []), 'XFS (pmem0): Mounting V5 Filesystem', 'XFS (pmem0): Ending clean mount'];
  }
  return [
    ...(daxAll ? ['EXT4-fs (pmem0): DAX enabled. Warning: EXPERIMENTAL, use at your own risk'] : []),
    `EXT4-fs (pmem0): mounted filesystem with ordered data mode. Opts: ${mountText(m) || '(null)'}`,
  ];
}
