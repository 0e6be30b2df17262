import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from '../helpers.js';

/**
 * A stand-in for an xfstests checkout: common/preamble and common/rc with the
 * few functions a generated test calls, each a minimal bash function that logs
 * its call, and fsx and xfs_io programs that log their arguments. Written for
 * these tests from what the functions are for, not from xfstests' code.
 */
const PREAMBLE = `# stand-in common/preamble
_cleanup()
{
	cd /
	rm -r -f "$tmp".*
}

_begin_fstest()
{
	echo "_begin_fstest $*" >> "$CALLS"
	seq=$(basename "$0")
	seqres=$RESULT_DIR/$seq
	echo "QA output created by $seq"
	here=$(pwd)
	tmp=$FAKE_TMP/$$
	status=1
	trap '_cleanup; exit $status' EXIT HUP INT QUIT TERM
	. ./common/rc
	rm -f "$seqres.full"
}
`;

const RC = `# stand-in common/rc
_log_call() { echo "$*" >> "$CALLS"; }
_require_scratch_dax_mountopt() { _log_call "_require_scratch_dax_mountopt $*"; }
_check_scratch_dax_mountopt() { _log_call "_check_scratch_dax_mountopt $*"; return "\${FAKE_DAX_CHECK:-0}"; }
_require_dax_iflag() { _log_call "_require_dax_iflag $*"; }
_require_xfs_io_command() { _log_call "_require_xfs_io_command $*"; }
_scratch_mkfs() { _log_call "_scratch_mkfs $*"; }
_scratch_mount() { _log_call "_scratch_mount $*"; mkdir -p "$SCRATCH_MNT"; }
_notrun() { echo "$seq not run: $*"; status=0; exit; }
_exit() { status="$1"; exit "$status"; }
FSX_PROG=$FAKE_BIN/fsx
XFS_IO_PROG=$FAKE_BIN/xfs_io
SCRATCH_MNT=$FAKE_ROOT/scratch
`;

const FSX = `#!/bin/bash
echo "fsx $*" >> "$CALLS"
for a in "$@"; do
	case "$a" in --replay-ops=*) cp "\${a#--replay-ops=}" "$FAKE_ROOT/replayed.fsxops" ;; esac
done
sleep "\${FAKE_FSX_SLEEP:-0.2}"
exit "\${FAKE_FSX_STATUS:-0}"
`;

const XFS_IO = `#!/bin/bash
echo "xfs_io $*" >> "$CALLS"
sleep 0.01
`;

export interface StandIn {
  root: string;
  calls: () => string[];
  /** Run a test file of the checkout (without blocking the test worker); its standard output, error and exit status. */
  run: (testPath: string, env?: Record<string, string>) => Promise<{ stdout: string; stderr: string; status: number | null }>;
}

export function makeStandIn(): StandIn {
  const root = tmp('daxfsx-xfstests-');
  for (const d of ['common', 'bin', 'results', 'tmp', 'tests/xfs', 'tests/generic']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'common/preamble'), PREAMBLE);
  writeFileSync(join(root, 'common/rc'), RC);
  for (const [name, text] of [['fsx', FSX], ['xfs_io', XFS_IO]]) {
    writeFileSync(join(root, 'bin', name), text);
    chmodSync(join(root, 'bin', name), 0o755);
  }
  const callsFile = join(root, 'calls.log');
  writeFileSync(callsFile, '');
  return {
    root,
    calls: () => readFileSync(callsFile, 'utf8').split('\n').filter(Boolean),
    run: (testPath, env = {}) =>
      new Promise((resolve) => {
        const p = spawn('bash', [testPath], {
          cwd: root,
          timeout: 30000,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          CALLS: callsFile,
          FAKE_ROOT: root,
          FAKE_BIN: join(root, 'bin'),
          FAKE_TMP: join(root, 'tmp'),
          RESULT_DIR: join(root, 'results'),
          TIME_FACTOR: '1',
          SOAK_DURATION: '1',
          FSX_AVOID: '',
          ...env,
        },
        });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('close', (status) => resolve({ stdout, stderr, status }));
      }),
  };
}

/** Whether a program is on the PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
