import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The designs for switching DAX on a live file (KERNEL.md §6,
 * KERNEL-HISTORY.md). A design is a JSON file (designs/*.json ships the
 * built-in ones): a kernel release (`base`: whose code the paths run, with
 * `k.v >= V4_14`-style switches where a release changed a function) plus
 * the mechanism knobs the paths read. The model's paths read the knobs,
 * never the name, and never know whether a design is built in.
 */
/** The kernel release whose code a design's paths run (KERNEL-HISTORY.md). */
export type KernelVersion = '4.13' | '4.14' | '5.8' | '5.11';
export const KERNEL_VERSIONS: readonly KernelVersion[] = ['4.13', '4.14', '5.8', '5.11'];

/** Where a path tests IS_DAX: before taking any lock (4.13), or under the lock the flip takes exclusively. */
export type Decide = 'unlocked' | 'locked';
export const DECIDES: readonly Decide[] = ['unlocked', 'locked'];

/** The mechanism knobs: everything about a design that a model path reads. */
export interface Knobs {
  /** The kernel the paths are taken from; a design is this kernel plus the knobs below. */
  readonly base: KernelVersion;
  /** xfs_file_read_iter, ext4_file_read_iter: where the read tests IS_DAX. */
  readonly readIsDax: Decide;
  /** xfs_file_write_iter, ext4_file_write_iter: where the write tests IS_DAX. */
  readonly writeIsDax: Decide;
  /** xfs_filemap_fault (4.13, xfs_file.c:1057): the write fault's DAX shortcut to page_mkwrite, or (locked) no shortcut. */
  readonly faultWriteIsDax: Decide;
  /** xfs_filemap_huge_fault (4.13): the IS_DAX test before falling back. */
  readonly hugeFaultIsDax: Decide;
  /** xfs_ioctl_setattr_dax_invalidate, ext4_ioctl_setflags (before 5.8): the flip fails with EBUSY while mapping_mapped(). */
  readonly refuseWhileMapped: boolean;
  /** The same ioctls: the flip fails with EBUSY while another open file (or a VMA's) refers to the inode. */
  readonly refuseWhileOpen: boolean;
  /** After the flip changes S_DAX: leave VMAs as mmap set them, or give them the new mode's flags and vm_ops (with which locks held). */
  readonly updateVmas: UpdateVmas;
}

/** Whether and where the flip updates existing VMAs (hypothetical: no release did). */
export type UpdateVmas = 'no' | 'under-locks' | 'after-mmaplock';
export const UPDATE_VMAS: readonly UpdateVmas[] = ['no', 'under-locks', 'after-mmaplock'];

export interface Design extends Knobs {
  readonly name: string;
  readonly summary: string;
  /** Where the design comes from: a commit, a mail, or "hypothetical". */
  readonly source: string;
}

/** A knob as `daxfsx designs knobs` and the README document it. */
export interface KnobDoc {
  readonly name: keyof Knobs;
  readonly values: string;
  /** What it changes in the code path. */
  readonly changes: string;
  /** The kernel function(s) of the decision point. */
  readonly kernel: string;
  /** The bases whose paths read it. */
  readonly readOn: readonly KernelVersion[];
  /** Every value it takes, its default (what a base that does not read it has) first: the design search's space. */
  readonly choices: readonly (string | boolean)[];
  /** What a value costs users, when it costs them anything: the flag change refused, deferred, or not made at runtime. */
  readonly cost?: Readonly<Record<string, string>>;
}

export const KNOBS: readonly KnobDoc[] = [
  {
    name: 'base',
    values: KERNEL_VERSIONS.join(' | '),
    changes: 'the release whose paths run: 4.13 changes S_DAX in the ioctl; 4.14 changes only the on-disk flag; 5.8 and 5.11 set I_DONTCACHE and change S_DAX at the next inode load (5.11 with the dput/iput_final fixes)',
    kernel: 'xfs_ioctl_setattr, xfs_diflags_to_iflags, ext4_ioctl, fault handlers per release',
    readOn: KERNEL_VERSIONS,
    choices: KERNEL_VERSIONS,
    cost: { '4.14': 'no runtime change', '5.8': 'at the last close', '5.11': 'at the last close' },
  },
  {
    name: 'readIsDax',
    values: DECIDES.join(' | '),
    changes: 'unlocked: IS_DAX tested before IOLOCK shared (ext4: re-tested under it in ext4_dax_read_iter); locked: tested once under IOLOCK shared, the read done there',
    kernel: 'xfs_file_read_iter, ext4_file_read_iter',
    readOn: KERNEL_VERSIONS,
    choices: DECIDES,
  },
  {
    name: 'writeIsDax',
    values: DECIDES.join(' | '),
    changes: 'unlocked: IS_DAX tested before IOLOCK exclusive, not re-tested; locked: tested after taking it',
    kernel: 'xfs_file_write_iter, ext4_file_write_iter',
    readOn: KERNEL_VERSIONS,
    choices: DECIDES,
  },
  {
    name: 'faultWriteIsDax',
    values: DECIDES.join(' | '),
    changes: 'unlocked: a write fault tests IS_DAX with no lock and goes straight to page_mkwrite with vmf->page NULL (the shortcut); locked: no shortcut, the fault decides under MMAPLOCK shared',
    kernel: 'xfs_filemap_fault (4.13, xfs_file.c:1057)',
    readOn: ['4.13'],
    choices: DECIDES,
  },
  {
    name: 'hugeFaultIsDax',
    values: DECIDES.join(' | '),
    changes: 'unlocked: VM_FAULT_FALLBACK unless IS_DAX tested with no lock, then dax_iomap_fault under MMAPLOCK with no second test; locked: the test is made under MMAPLOCK shared',
    kernel: 'xfs_filemap_huge_fault (4.13)',
    readOn: ['4.13'],
    choices: DECIDES,
  },
  {
    name: 'refuseWhileMapped',
    values: 'true | false',
    changes: 'true: with the locks held, the flip fails with EBUSY while the file has a VMA (mapping_mapped())',
    kernel: 'xfs_ioctl_setattr_dax_invalidate, ext4_ioctl_setflags (4.13, 4.14)',
    readOn: ['4.13', '4.14'],
    choices: [false, true],
    cost: { true: 'refused while mapped' },
  },
  {
    name: 'refuseWhileOpen',
    values: 'true | false (default false: a file without it, as before 0.3, means false)',
    changes: "true: with the locks held, the flip fails with EBUSY while the file is open other than by the flipper's own open file (a VMA's file counts: a mapping outlives its close)",
    kernel: 'xfs_ioctl_setattr_dax_invalidate, ext4_ioctl_setflags (4.13, 4.14): the dentry\'s open files (d_count)',
    readOn: ['4.13', '4.14'],
    choices: [false, true],
    cost: { true: 'refused while open' },
  },
  {
    name: 'updateVmas',
    values: `${UPDATE_VMAS.join(' | ')} (optional, default no)`,
    changes: "under-locks: with IOLOCK and MMAPLOCK still held (ext4: inode_lock, i_mmap_sem for +j), the flip takes each mapping's mm->mmap_sem for write and gives the VMA the new mode's VM_MIXEDMAP/VM_HUGEPAGE and vm_ops; after-mmaplock: the same once MMAPLOCK is dropped (IOLOCK still held); no: VMAs keep what ->mmap chose",
    kernel: 'hypothetical dax_update_vmas() after xfs_diflags_to_linux / ext4_set_inode_flags (4.13); mmap_sem as vm_mmap_pgoff, __do_page_fault take it',
    readOn: ['4.13'],
    choices: UPDATE_VMAS,
  },
];

/** IS_DAX decisions the paths make in one way only: not knobs (a knob would be a switch no path reads). */
export const FIXED_DECISIONS: readonly string[] = [
  'xfs_filemap_fault (all bases): the non-shortcut IS_DAX test is under MMAPLOCK shared',
  'xfs_filemap_page_mkwrite (4.13): IS_DAX under MMAPLOCK shared',
  'xfs_filemap_pfn_mkwrite (4.13): IS_DAX under MMAPLOCK shared',
  'xfs_file_mmap, ext4_file_mmap: IS_DAX picks VM_MIXEDMAP and vm_ops at mmap, with no lock (VMAs are updated only by updateVmas)',
  'ext4 fault handlers: no IS_DAX test (the vm_ops chosen at mmap decided)',
];

/** A design file (or a record's design) that is not what it must be: `field` names what is wrong. */
export class DesignError extends Error {
  constructor(
    readonly field: string,
    readonly why: string,
  ) {
    super(`${field}: ${why}`);
    this.name = 'DesignError';
  }
}

const KNOB_NAMES = KNOBS.map((k) => k.name) as readonly string[];
const TEXT_FIELDS = ['name', 'summary', 'source'];

/**
 * Check a design read from outside (a file, a record): every knob present
 * and of its type, no unknown field, no knob the base's paths do not read
 * set away from its default. `defaultName` names a design without `name`.
 */
export function checkDesign(v: unknown, defaultName?: string): Design {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DesignError('(top)', 'a design is a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOB_NAMES.includes(k) && !TEXT_FIELDS.includes(k)) throw new DesignError(k, `unknown knob (knobs: ${KNOB_NAMES.join(', ')})`);
  const text = (k: string, def: string | undefined): string => {
    const x = o[k] ?? def;
    if (x === undefined) throw new DesignError(k, 'missing');
    if (typeof x !== 'string' || !x || x.length > 200 || /[\n\r]/.test(x)) throw new DesignError(k, `must be a non-empty one-line string of at most 200 characters (got ${JSON.stringify(x)})`);
    return x;
  };
  const name = text('name', defaultName);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new DesignError('name', `must be letters, digits, '.', '_' and '-' (got ${JSON.stringify(name)})`);
  const oneOf = <T extends string>(k: string, xs: readonly T[]): T => {
    if (!(k in o)) throw new DesignError(k, 'missing');
    const x = o[k];
    if (typeof x !== 'string' || !(xs as readonly string[]).includes(x)) throw new DesignError(k, `must be one of ${xs.map((s) => JSON.stringify(s)).join(', ')} (got ${JSON.stringify(x)})`);
    return x as T;
  };
  const base = oneOf('base', KERNEL_VERSIONS);
  const bool = (k: string, optional: boolean): boolean => {
    if (!(k in o)) {
      if (optional) return false;
      throw new DesignError(k, 'missing');
    }
    if (typeof o[k] !== 'boolean') throw new DesignError(k, `must be true or false (got ${JSON.stringify(o[k])})`);
    return o[k] as boolean;
  };
  const d: Design = {
    name,
    summary: text('summary', 'a design from a file'),
    source: text('source', 'hypothetical'),
    base,
    readIsDax: oneOf('readIsDax', DECIDES),
    writeIsDax: oneOf('writeIsDax', DECIDES),
    faultWriteIsDax: oneOf('faultWriteIsDax', DECIDES),
    hugeFaultIsDax: oneOf('hugeFaultIsDax', DECIDES),
    refuseWhileMapped: bool('refuseWhileMapped', false),
    // added after design files existed (record v2): a file or record without it means false
    refuseWhileOpen: bool('refuseWhileOpen', true),
    updateVmas: 'updateVmas' in o ? oneOf('updateVmas', UPDATE_VMAS) : 'no',
  };
  const contradiction = contradictionOf(d);
  if (contradiction) throw new DesignError(contradiction.field, contradiction.why);
  return d;
}

/** A knob set away from its default on a base whose paths do not read it: the two knobs contradict each other. */
function contradictionOf(d: Knobs): { field: string; why: string } | null {
  for (const doc of KNOBS) {
    if (d[doc.name] !== doc.choices[0] && !doc.readOn.includes(d.base)) {
      return {
        field: doc.name,
        why: `contradicts base "${d.base}": ${JSON.stringify(d[doc.name])} changes ${doc.kernel}, which only base ${doc.readOn.join(', ')} has (the ${d.base} paths never read it); leave it at its default or change base`,
      };
    }
  }
  return null;
}

/** Parse a design file's text: throws DesignError (its field; '(file)' when the text is not JSON). */
export function parseDesign(text: string, file: string): Design {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DesignError('(file)', `not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return checkDesign(v, basename(file).replace(/\.json$/, ''));
}

/** The knobs of a design, in KNOBS order (what two designs must share to run alike). */
export function knobsOf(d: Knobs): Knobs {
  return { base: d.base, readIsDax: d.readIsDax, writeIsDax: d.writeIsDax, faultWriteIsDax: d.faultWriteIsDax, hugeFaultIsDax: d.hugeFaultIsDax, refuseWhileMapped: d.refuseWhileMapped, refuseWhileOpen: d.refuseWhileOpen, updateVmas: d.updateVmas };
}

/** Two designs the same in every field. */
export function sameDesign(a: Design, b: Design): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The built-in designs, in the order `designs list` and `matrix` show them (each is designs/NAME.json). */
export const DESIGN_NAMES = ['immediate', 'fault-locked', 'faults-locked', 'locked', 'refuse-mapped', 'ignored', 'deferred-5.8', 'deferred'] as const;
export type DesignName = (typeof DESIGN_NAMES)[number];

/** The project's designs/ directory (beside package.json, from src/ or dist/src/). */
export function designsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'designs'))) return join(dir, 'designs');
    const up = dirname(dir);
    if (up === dir) throw new Error('daxfsx: the designs/ directory is missing from the installation');
    dir = up;
  }
}

function loadBuiltins(): Record<DesignName, Design> {
  const dir = designsDir();
  const out = {} as Record<DesignName, Design>;
  for (const name of DESIGN_NAMES) {
    const file = join(dir, `${name}.json`);
    try {
      out[name] = parseDesign(readFileSync(file, 'utf8'), file);
    } catch (e) {
      throw new Error(`daxfsx: built-in design ${file}: ${(e as Error).message}`);
    }
    if (out[name].name !== name) throw new Error(`daxfsx: built-in design ${file}: name: must be "${name}"`);
  }
  return out;
}

/** The built-in designs, read from designs/*.json the way a user's design file is. */
export const DESIGNS: Readonly<Record<DesignName, Design>> = loadBuiltins();

export function isDesignName(s: string): s is DesignName {
  return (DESIGN_NAMES as readonly string[]).includes(s);
}

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

