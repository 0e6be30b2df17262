import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Sink } from '../util/sink.js';
import { errText } from '../util/errors.js';
import { generateXfstest } from '../xfstest/generate.js';
import { inputFromFacts, recordingFacts } from '../xfstest/fromrecording.js';
import { EXIT_FILE, EXIT_OUTPUT, EXIT_USAGE, XfstestError, type XfstestFiles } from '../xfstest/input.js';

interface Io {
  stdout: Sink;
  stderr: Sink;
}

/** `daxfsx xfstest RUN.fsxops`: the finding as a test in xfstests' own layout. */
export function runXfstestCli(argv: string[], io: Io, now = new Date()): number {
  const cmd = new Command('daxfsx xfstest')
    .description(
      "turn a run recorded by daxfsx (best a shrunk one, F.min.fsxops) into an xfstests test: fsx replays the\n" +
        "recorded operations on a DAX scratch file system while a loop flips the file's DAX flag (chattr +x/-x)",
    )
    .argument('<recording>', 'the .fsxops file of a daxfsx run (daxfsx -S N ... FILE, or daxfsx shrink F.fsxops)')
    .addOption(new Option('--fs <fs>', "the file system to test (default: the recording's --fs); xfs gives tests/xfs/NNN, ext4 tests/generic/NNN").choices(['xfs', 'ext4']))
    .addOption(new Option('--out <dir>', 'the xfstests checkout (or any directory) to write tests/... into').default('.'))
    .addOption(new Option('--number <n>', 'the test number: a placeholder the maintainer replaces with a free one').default('999'))
    .helpOption('--help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  cmd.addHelpText(
    'after',
    `
Then: copy tests/<dir>/NNN and NNN.out into an xfstests checkout (or use --out there), renumber them, and run
./check <dir>/NNN with SCRATCH_DEV on a DAX-capable device (pmem). Exit codes: 0 written, 90 usage or a
recording with no flag flips, 93 not a recording or unreadable, 100 an op line that does not parse,
94 the test could not be written.`,
  );
  let file = '';
  cmd.action((f: string) => {
    file = f;
  });
  const fail = (msg: string, code: number): number => {
    io.stderr.write(`daxfsx xfstest: ${msg}\n`);
    return code;
  };
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      return fail(e.message.replace(/^error: /, ''), EXIT_USAGE);
    }
    throw e;
  }
  const o = cmd.opts<{ fs?: 'xfs' | 'ext4'; out: string; number: string }>();
  if (!/^\d{1,4}$/.test(o.number)) return fail(`option --number: a test number is 1 to 4 digits (got ${o.number})`, EXIT_USAGE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(`${file}: ${errText(e)}`, EXIT_FILE);
  }
  let files: XfstestFiles;
  try {
    const input = inputFromFacts(recordingFacts(text, file), file, { fs: o.fs, number: Number(o.number), year: now.getFullYear() });
    files = generateXfstest(input);
  } catch (e) {
    if (e instanceof XfstestError) return fail(e.message, e.exitCode);
    throw e;
  }
  const testPath = join(o.out, files.testPath);
  const outPath = join(o.out, files.outPath);
  try {
    mkdirSync(dirname(testPath), { recursive: true });
    writeFileSync(testPath, files.script);
    chmodSync(testPath, 0o755);
    writeFileSync(outPath, files.out);
  } catch (e) {
    return fail(`${(e as NodeJS.ErrnoException).path ?? testPath}: ${errText(e)}`, EXIT_OUTPUT);
  }
  io.stdout.write(`${testPath}\n${outPath}\n`);
  io.stderr.write(
    `daxfsx xfstest: ${o.number} is a placeholder: renumber the test and its .out (./new picks a free number), then run ./check ${files.testPath.replace(/^tests\//, '')}\n`,
  );
  return 0;
}
