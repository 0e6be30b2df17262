import { EXIT_USAGE, XfstestError, type XfstestFiles, type XfstestInput } from './input.js';

/**
 * An xfstests test from a daxfsx finding: fsx replays the recorded
 * operations on a file of a DAX-capable scratch file system while a loop
 * flips the file's FS_XFLAG_DAX, again and again until the time is up.
 *
 * Why replay the op lines (--replay-ops) rather than the seed: the lines are
 * exactly the operations the finding needs (after `daxfsx shrink`, a handful),
 * so each pass is short and the test gets many passes, that is many chances
 * for the flip to land inside the window; and fsx replays them as recorded
 * (it skips '#' lines, but the test's file holds the op lines alone). What
 * cannot be replayed on a real kernel is the interleaving, which is why the
 * test repeats and flips continuously instead of at the recorded points.
 */
export function generateXfstest(input: XfstestInput): XfstestFiles {
  if (input.flips.flippers < 1 || input.flips.count === 0) {
    throw new XfstestError(
      `${input.source}: the recording has no flag flips${input.flips.flippers < 1 ? ' (--no-flip)' : ''}: a test of it would not switch DAX; record a run whose flipper changed the flag`,
      EXIT_USAGE,
    );
  }
  if (!input.opLines.length) throw new XfstestError(`${input.source}: the recording has no fsx operations to replay`, EXIT_USAGE);
  const dir = input.fs === 'xfs' ? 'xfs' : 'generic';
  const num = String(input.number).padStart(3, '0');
  const testPath = `tests/${dir}/${num}`;
  const out = `QA output created by ${num}\nSilence is golden\n`;
  return { testPath, outPath: `${testPath}.out`, script: script(input, num), out };
}

/** Seconds a pass-loop runs at TIME_FACTOR=1: short recordings make a quick test. */
function budget(input: XfstestInput): number {
  return input.opLines.length <= 1000 ? 10 : 60;
}

function groups(input: XfstestInput): string {
  const g = ['auto'];
  if (budget(input) <= 30) g.push('quick');
  g.push('dax');
  if (input.opLines.some((l) => /^(skip )?map(read|write)\b/.test(l))) g.push('mmap');
  return g.join(' ');
}

/** A word for the shell: single-quoted unless it is plain. */
function sh(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Comment lines of at most 76 columns. */
function para(text: string): string[] {
  const out: string[] = [];
  let line = '#';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + w.length > 76 && line !== '#') {
      out.push(line);
      line = '#';
    }
    line += ' ' + w;
  }
  out.push(line);
  return out;
}

/** Linux 5.8 brought dax=inode, under which the file's flag decides S_DAX (at the next inode load). */
function hasDaxInode(kernel: string): boolean {
  const [maj, min] = kernel.split('.').map(Number);
  return maj > 5 || (maj === 5 && min >= 8);
}

function found(input: XfstestInput): string {
  const sig = input.signature && input.signature !== input.verdict ? ` in ${input.signature}` : '';
  return `${input.verdict}${sig}`;
}

function header(input: XfstestInput, num: string): string[] {
  const fsName = input.fs === 'xfs' ? 'XFS' : 'ext4';
  const flips = input.flips;
  const recorded = [
    `${input.opLines.length} fsx operation${input.opLines.length === 1 ? '' : 's'}`,
    `${flips.flippers} flipper${flips.flippers === 1 ? '' : 's'}`,
    ...(flips.count !== undefined ? [`${flips.count} flag change${flips.count === 1 ? '' : 's'} in the model`] : []),
    `the file starting in ${flips.initialDax ? 'DAX' : 'page-cache'} mode`,
  ].join(', ');
  return [
    '#! /bin/bash',
    '# SPDX-License-Identifier: GPL-2.0',
    `# Copyright (c) ${input.year} YOUR NAME HERE.  All Rights Reserved.`,
    '#',
    `# FS QA Test No. ${num}`,
    '#',
    ...para(
      `Switch a file between DAX and page-cache access (FS_XFLAG_DAX, xfs_io chattr +x/-x) while fsx reads, writes and mmaps it.`,
    ),
    '#',
    ...para(
      `${input.verdict ? 'Reproduces what daxfsx found with' : 'From a run of daxfsx with'} its model of ${fsName} under the design "${input.design.name}" (${input.design.summary}; its paths are those of Linux ${input.design.kernel})${input.verdict ? `: ${found(input)}` : '; the recording does not say that anything failed'}.`,
    ),
    ...para(`Made by daxfsx from ${input.source}: ${recorded}.`),
    ...(input.dropped.length ? para(`Left out of the recorded fsx options: ${input.dropped.join('; ')}.`) : []),
    '#',
    ...para(
      `A real kernel's interleaving cannot be replayed, so the test replays the recorded operations again and again for ${budget(input)} seconds times TIME_FACTOR (or SOAK_DURATION seconds) while a loop flips the flag, and leaves the verdict to fsx's checks and to the dmesg check xfstests runs after every test (an oops, BUG or WARNING fails it).`,
    ),
    '#',
    ...para(
      `${num} is a placeholder: give the test a free number (./new picks the next one), and rename this file, its .out file and the number in the .out file's first line to match.`,
    ),
    '#',
  ];
}

function mountLines(input: XfstestInput): string[] {
  if (hasDaxInode(input.design.kernel)) {
    return [
      '_require_scratch_dax_mountopt "dax=always"',
      '_require_dax_iflag',
      '_require_xfs_io_command "chattr" "x"',
      '',
      '# dax=inode: the file\'s FS_XFLAG_DAX decides S_DAX, which changes when',
      '# the inode is next loaded (Linux 5.8 and later).',
      'dax_opts="-o dax=inode"',
    ];
  }
  return [
    '_require_scratch_dax_mountopt "dax"',
    '_require_dax_iflag',
    '_require_xfs_io_command "chattr" "x"',
    '',
    "# A mount on which the file's FS_XFLAG_DAX decides S_DAX: dax=inode where",
    '# the kernel has it (5.8 and later: the change applies when the inode is',
    '# next loaded); before 5.8, -o dax (on 4.13, chattr +x/-x switches S_DAX at',
    '# once, the switch the finding is about).',
    'if _check_scratch_dax_mountopt "dax=always"; then',
    '\tdax_opts="-o dax=inode"',
    'else',
    '\tdax_opts="-o dax"',
    'fi',
  ];
}

function script(input: XfstestInput, num: string): string {
  const on = input.flips.initialDax;
  const first = on ? '-x' : '+x';
  const second = on ? '+x' : '-x';
  const fsx = input.fsxArgs.map(sh).join(' ');
  const mean = input.flips.meanIntervalSteps;
  const lines = [
    ...header(input, num),
    '# tmp and seqres are set by _begin_fstest',
    '# shellcheck source=/dev/null disable=SC2154',
    '. ./common/preamble',
    `_begin_fstest ${groups(input)}`,
    '',
    'flip_pids=()',
    '',
    '# Stop the flag flippers: kill them, then wait for them to be gone.',
    '_stop_flippers()',
    '{',
    '\t[ ${#flip_pids[@]} -eq 0 ] && return',
    '\tkill "${flip_pids[@]}" > /dev/null 2>&1',
    '\twait "${flip_pids[@]}" 2> /dev/null',
    '\tflip_pids=()',
    '}',
    '',
    '# Override the default cleanup function.',
    '_cleanup()',
    '{',
    '\t_stop_flippers',
    '\tcd /',
    '\trm -r -f "$tmp".*',
    '}',
    '',
    ...mountLines(input),
    '',
    '_scratch_mkfs >> "$seqres.full" 2>&1',
    '_scratch_mount "$dax_opts"',
    '',
    'testdir=$SCRATCH_MNT/daxfsx',
    'testfile=$testdir/file',
    'mkdir -p "$testdir"',
    `# The recording's file started in ${on ? 'DAX' : 'page-cache'} mode: a new file takes the`,
    "# directory's flag (5.8 and later), and the file's own chattr switches it",
    '# at once where the kernel does that (4.13).',
    `$XFS_IO_PROG -c 'chattr ${on ? '+x' : '-x'}' "$testdir"`,
    'touch "$testfile"',
    `$XFS_IO_PROG -c 'chattr ${on ? '+x' : '-x'}' "$testfile"`,
    '',
    "# The recorded operations, as fsx replays them (daxfsx's '#' lines left out).",
    'cat > "$tmp.fsxops" << ENDL',
    ...input.opLines,
    'ENDL',
    '',
    ...para(
      `The recording's ${input.flips.flippers === 1 ? 'flipper' : `${input.flips.flippers} flippers`} changed the flag ${mean ? `every ${mean} of the model's scheduler steps on average` : 'at the recorded points'}; here ${input.flips.flippers === 1 ? 'it flips' : 'each flips'} it as fast as xfs_io runs, since what matters on a real kernel is to land inside the window often.`,
    ),
    'flip_loop()',
    '{',
    '\twhile true; do',
    `\t\t$XFS_IO_PROG -c 'chattr ${first}' "$testfile" > /dev/null 2>&1`,
    `\t\t$XFS_IO_PROG -c 'chattr ${second}' "$testfile" > /dev/null 2>&1`,
    '\tdone',
    '}',
    '',
    `runtime=$((${budget(input)} * TIME_FACTOR))`,
    'test -n "$SOAK_DURATION" && runtime=$SOAK_DURATION',
    '',
    `for ((i = 0; i < ${input.flips.flippers}; i++)); do`,
    '\tflip_loop &',
    '\tflip_pids+=($!)',
    'done',
    '',
    ...para(
      "fsx replays the recorded op lines rather than re-running the seed's stream: they are exactly the operations the finding needs, so each pass is short and the flips get many chances to land inside the window; the interleaving is what a real kernel cannot replay, hence the passes.",
    ),
    '# FSX_AVOID: the options the configuration wants every fsx run to have',
    'read -r -a avoid_args <<< "$FSX_AVOID"',
    'end=$((SECONDS + runtime))',
    'pass=0',
    'while true; do',
    '\tpass=$((pass + 1))',
    '\techo "pass $pass" >> "$seqres.full"',
    `\t$FSX_PROG ${fsx} "\${avoid_args[@]}" --replay-ops="$tmp.fsxops" "$testfile" >> "$seqres.full" 2>&1`,
    '\tres=$?',
    '\tif [ $res -ne 0 ]; then',
    '\t\techo "fsx failed with status $res in pass $pass, see $seqres.full"',
    '\t\tbreak',
    '\tfi',
    '\t[ $SECONDS -ge $end ] && break',
    'done',
    '_stop_flippers',
    'echo "$pass passes" >> "$seqres.full"',
    '',
    '# success, all done',
    'echo "Silence is golden"',
    '_exit 0',
  ];
  return lines.join('\n') + '\n';
}
