import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateXfstest } from '../src/xfstest/generate.js';
import { XfstestError, type XfstestInput } from '../src/xfstest/input.js';
import { cli, tmp } from './helpers.js';
import { have, makeStandIn } from './xfstest/standin.js';

const bin = join(__dirname, '..', 'bin', 'daxfsx');

const OPS = ['mapwrite 0x0 0x1 0x40000', 'mapwrite 0x0 0x1 0x40000'];

function input(over: Partial<XfstestInput> = {}): XfstestInput {
  return {
    fs: 'xfs',
    design: { name: 'immediate', kernel: '4.13', summary: 'the 4.13 paths: IS_DAX tested before locking, S_DAX changed in the ioctl' },
    fsxArgs: ['-S', '1', '-q', '-N', '200'],
    opLines: OPS,
    flips: { flippers: 1, count: 1, initialDax: true },
    verdict: 'oops',
    signature: 'iomap_page_mkwrite',
    source: 'f.min.fsxops',
    dropped: [],
    number: 999,
    year: 2026,
    ...over,
  };
}

/** Write a generated test into a stand-in checkout; returns the checkout. */
function install(inp: XfstestInput, standIn = makeStandIn()): { standIn: ReturnType<typeof makeStandIn>; testPath: string; out: string } {
  const t = generateXfstest(inp);
  writeFileSync(join(standIn.root, t.testPath), t.script, { mode: 0o755 });
  writeFileSync(join(standIn.root, t.outPath), t.out);
  return { standIn, testPath: t.testPath, out: t.out };
}

describe('the generated test, as text', () => {
  it("follows xfstests' layout: tests/xfs/NNN for XFS, tests/generic/NNN for ext4, and a .out of what it prints", () => {
    const x = generateXfstest(input());
    expect([x.testPath, x.outPath]).toEqual(['tests/xfs/999', 'tests/xfs/999.out']);
    expect(x.out).toBe('QA output created by 999\nSilence is golden\n');
    const g = generateXfstest(input({ fs: 'ext4', number: 42 }));
    expect([g.testPath, g.outPath]).toEqual(['tests/generic/042', 'tests/generic/042.out']);
    expect(g.out.split('\n')[0]).toBe('QA output created by 042');
  });

  it("has xfstests' preamble, groups, requirements and helpers", () => {
    const s = generateXfstest(input()).script;
    const lines = s.split('\n');
    expect(lines.slice(0, 3)).toEqual(['#! /bin/bash', '# SPDX-License-Identifier: GPL-2.0', '# Copyright (c) 2026 YOUR NAME HERE.  All Rights Reserved.']);
    expect(s).toContain('# FS QA Test No. 999');
    expect(s).toContain('\n. ./common/preamble\n_begin_fstest auto quick dax mmap\n');
    for (const l of ['_require_scratch_dax_mountopt "dax"', '_require_dax_iflag', '_require_xfs_io_command "chattr" "x"', '_scratch_mkfs >> "$seqres.full" 2>&1', '_scratch_mount "$dax_opts"', '_exit 0']) {
      expect(lines).toContain(l);
    }
    expect(s).toMatch(/\$FSX_PROG -S 1 -q -N 200 "\$\{avoid_args\[@\]\}" --replay-ops="\$tmp.fsxops" "\$testfile"/);
    expect(s).toContain("$XFS_IO_PROG -c 'chattr -x' \"$testfile\"");
    expect(s).toMatch(/runtime=\$\(\(10 \* TIME_FACTOR\)\)\ntest -n "\$SOAK_DURATION" && runtime=\$SOAK_DURATION/);
  });

  it('says in its header what it reproduces, under which design and kernel, and that the number is a placeholder', () => {
    const head = generateXfstest(input()).script.split('. ./common/preamble')[0].replace(/\n# ?/g, ' ');
    expect(head).toContain('oops in iomap_page_mkwrite');
    expect(head).toContain('the design "immediate"');
    expect(head).toContain('Linux 4.13');
    expect(head).toContain('999 is a placeholder');
    expect(head).toContain('f.min.fsxops');
    const unknown = generateXfstest(input({ verdict: undefined, signature: undefined })).script;
    expect(unknown.replace(/\n# ?/g, ' ')).toContain('the recording does not say that anything failed');
  });

  it('holds the op lines alone in its heredoc (no daxfsx # lines)', () => {
    const s = generateXfstest(input()).script;
    expect(s).toContain(`cat > "$tmp.fsxops" << ENDL\n${OPS.join('\n')}\nENDL\n`);
  });

  it('a design of Linux 5.8 or later needs dax=inode; older ones fall back to -o dax where dax=inode is unknown', () => {
    const deferred = generateXfstest(input({ design: { name: 'deferred', kernel: '5.11', summary: 'Linux 5.8: ...' } })).script;
    expect(deferred).toContain('_require_scratch_dax_mountopt "dax=always"');
    expect(deferred).toContain('dax_opts="-o dax=inode"');
    expect(deferred).not.toContain('-o dax"');
    const old = generateXfstest(input()).script;
    expect(old).toContain('if _check_scratch_dax_mountopt "dax=always"; then');
  });

  it('quick only when short, mmap only when the ops map the file', () => {
    const long = generateXfstest(input({ opLines: Array.from({ length: 1500 }, () => 'write 0x0 0x10 0x0') })).script;
    expect(long).toContain('_begin_fstest auto dax\n');
    expect(long).toContain('runtime=$((60 * TIME_FACTOR))');
  });

  it('quotes fsx option values for the shell', () => {
    expect(generateXfstest(input({ fsxArgs: ['-S', '1', '-g', "a b'c"] })).script).toContain(`$FSX_PROG -S 1 -g 'a b'\\''c' `);
  });

  it('refuses a recording with nothing to flip, and one with no operations', () => {
    expect(() => generateXfstest(input({ flips: { flippers: 0, count: 0, initialDax: true } }))).toThrow(XfstestError);
    expect(() => generateXfstest(input({ flips: { flippers: 1, count: 0, initialDax: true } }))).toThrow(/no flag flips/);
    expect(() => generateXfstest(input({ opLines: [] }))).toThrow(/no fsx operations/);
  });

  it('passes bash -n', () => {
    for (const inp of [input(), input({ fs: 'ext4', design: { name: 'deferred', kernel: '5.11', summary: 's' }, flips: { flippers: 3, initialDax: false } })]) {
      const d = tmp();
      writeFileSync(join(d, 't'), generateXfstest(inp).script);
      expect(spawnSync('bash', ['-n', join(d, 't')]).status).toBe(0);
    }
  });

  it.skipIf(!have('shellcheck'))('passes shellcheck', () => {
    for (const inp of [input(), input({ fs: 'ext4', design: { name: 'deferred', kernel: '5.11', summary: 's' }, flips: { flippers: 3, initialDax: false } })]) {
      const d = tmp();
      writeFileSync(join(d, 't'), generateXfstest(inp).script);
      const r = spawnSync('shellcheck', [join(d, 't')], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});

describe('the generated test, run under a stand-in for xfstests', () => {
  it('issues its commands in order, flips while fsx runs, stops the flipper, and prints its .out', async () => {
    const { standIn, testPath, out } = install(input({ fsxArgs: ['-S', '1', '-q', '-N', '200'] }));
    // SECONDS counts whole seconds: 2 leaves more than one second, several 0.2 s passes
    const r = await standIn.run(testPath, { FSX_AVOID: '-a -u', SOAK_DURATION: '2' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(out);
    const calls = standIn.calls();
    const file = join(standIn.root, 'scratch/daxfsx/file');
    expect(calls.slice(0, 9)).toEqual([
      '_begin_fstest auto quick dax mmap',
      '_require_scratch_dax_mountopt dax',
      '_require_dax_iflag ',
      '_require_xfs_io_command chattr x',
      '_check_scratch_dax_mountopt dax=always',
      '_scratch_mkfs ',
      '_scratch_mount -o dax=inode',
      `xfs_io -c chattr +x ${join(standIn.root, 'scratch/daxfsx')}`,
      `xfs_io -c chattr +x ${file}`,
    ]);
    const rest = calls.slice(9);
    const fsx = rest.filter((l) => l.startsWith('fsx '));
    expect(fsx.length).toBeGreaterThan(1); // it retries until the time is up
    for (const l of fsx) expect(l).toMatch(new RegExp(`^fsx -S 1 -q -N 200 -a -u --replay-ops=\\S+\\.fsxops ${file}$`));
    const flips = rest.filter((l) => l.startsWith('xfs_io '));
    expect(flips.length).toBeGreaterThan(2);
    flips.forEach((l, i) => expect(l).toBe(`xfs_io -c chattr ${i % 2 === 0 ? '-x' : '+x'} ${file}`));
    // flips land while fsx runs, and the flipper is gone once the test is: nothing more is logged
    const firstFsx = rest.findIndex((l) => l.startsWith('fsx '));
    const lastFsx = rest.length - 1 - [...rest].reverse().findIndex((l) => l.startsWith('fsx '));
    expect(rest.slice(firstFsx, lastFsx).some((l) => l.startsWith('xfs_io '))).toBe(true);
    const n = standIn.calls().length;
    await new Promise((r) => setTimeout(r, 300));
    expect(standIn.calls().length).toBe(n);
    expect(readFileSync(join(standIn.root, 'replayed.fsxops'), 'utf8')).toBe(OPS.join('\n') + '\n');
  });

  it('an fsx failure changes the output (the test fails) and still stops the flipper', async () => {
    const { standIn, testPath, out } = install(input());
    const r = await standIn.run(testPath, { FAKE_FSX_STATUS: '110' });
    expect(r.stdout).not.toBe(out);
    expect(r.stdout).toMatch(/^fsx failed with status 110 in pass 1, see .*999\.full$/m);
    expect(standIn.calls().filter((l) => l.startsWith('fsx ')).length).toBe(1);
    const n = standIn.calls().length;
    await new Promise((r) => setTimeout(r, 300));
    expect(standIn.calls().length).toBe(n);
  });

  it('before Linux 5.8 (no dax=inode) it mounts with -o dax; a file starting in page-cache mode is set so', async () => {
    const { standIn, testPath, out } = install(input({ flips: { flippers: 2, count: 4, initialDax: false } }));
    const r = await standIn.run(testPath, { FAKE_DAX_CHECK: '1' });
    expect(r.stdout).toBe(out);
    const calls = standIn.calls();
    expect(calls).toContain('_scratch_mount -o dax');
    expect(calls.slice(7, 9).every((l) => l.startsWith('xfs_io -c chattr -x '))).toBe(true);
  });
});

describe('daxfsx xfstest', () => {
  /** A failing run recorded by daxfsx itself (the model's 4.13 oops, seed 1). */
  async function recording(): Promise<{ dir: string; ops: string }> {
    const dir = tmp();
    const r = await cli(['-q', '-S', '2', '-N', '200', join(dir, 'f')]);
    expect(r.code).toBe(50);
    return { dir, ops: join(dir, 'f.fsxops') };
  }

  it('turns a real recording into a test that runs under the stand-in (the executable, end to end)', async () => {
    const dir = tmp();
    const daxfsx = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
    expect(daxfsx('-S', '1', '-N', '200', './f').status).toBe(50);
    const ops = join(dir, 'f.fsxops');
    const standIn = makeStandIn();
    const r = daxfsx('xfstest', 'f.fsxops', '--out', 'x');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('x/tests/xfs/999\nx/tests/xfs/999.out\n');
    mkdirSync(join(standIn.root, 'tests/xfs'), { recursive: true });
    cpSync(join(dir, 'x/tests/xfs/999'), join(standIn.root, 'tests/xfs/999'));
    const script = readFileSync(join(dir, 'x/tests/xfs/999'), 'utf8');
    expect(script).toContain('$FSX_PROG -S 1 -N 200 ');
    expect(script).not.toMatch(/^# daxfsx/m);
    const run = await standIn.run('tests/xfs/999');
    expect(run.stdout).toBe(readFileSync(join(dir, 'x/tests/xfs/999.out'), 'utf8'));
    const opLines = readFileSync(ops, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(readFileSync(join(standIn.root, 'replayed.fsxops'), 'utf8')).toBe(opLines.join('\n') + '\n');
  });

  it('and a shrunk one: the header names what the model found', async () => {
    const { dir, ops } = await recording();
    expect((await cli(['shrink', ops])).code).toBe(0);
    const r = await cli(['xfstest', join(dir, 'f.min.fsxops'), '--out', dir, '--fs', 'ext4']);
    expect(r.code, r.stderr).toBe(0);
    const script = readFileSync(join(dir, 'tests/generic/999'), 'utf8');
    expect(script.replace(/\n# ?/g, ' ')).toMatch(/found with its model of ext4 under the design "immediate" .*: oops in iomap_page_mkwrite\./);
    const standIn = makeStandIn();
    cpSync(join(dir, 'tests/generic/999'), join(standIn.root, 'tests/generic/999'));
    expect((await standIn.run('tests/generic/999')).stdout).toBe('QA output created by 999\nSilence is golden\n');
  });

  it('--help describes the command and its options', async () => {
    const r = await cli(['xfstest', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--fs <fs>/);
    expect(r.stdout).toMatch(/--out <dir>/);
  });

  describe('a bad input gets one line on stderr and a non-zero exit', () => {
    const oneLine = (r: { stderr: string; stdout: string }, re: RegExp): void => {
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    };

    it('an unreadable file: 93', async () => {
      const r = await cli(['xfstest', join(tmp(), 'none.fsxops')]);
      expect(r.code).toBe(93);
      oneLine(r, /^daxfsx xfstest: .*none\.fsxops: No such file or directory$/m);
    });

    it("not a daxfsx recording (fsx's own .fsxops): 93", async () => {
      const d = tmp();
      writeFileSync(join(d, 'fsx.fsxops'), OPS.join('\n') + '\n');
      const r = await cli(['xfstest', join(d, 'fsx.fsxops')]);
      expect(r.code).toBe(93);
      oneLine(r, /not a daxfsx recording/);
    });

    it('a recording with no flips: 90, nothing written', async () => {
      const d = tmp();
      await cli(['-q', '--no-flip', '-S', '1', '-N', '20', '--record-ops', join(d, 'f')]);
      const r = await cli(['xfstest', join(d, 'f.fsxops'), '--out', d]);
      expect(r.code).toBe(90);
      oneLine(r, /no flag flips \(--no-flip\)/);
    });

    it('an unknown file system: 90', async () => {
      const { ops } = await recording();
      const r = await cli(['xfstest', ops, '--fs', 'btrfs']);
      expect(r.code).toBe(90);
      oneLine(r, /'btrfs' is invalid/);
    });

    it('an op line that does not parse: 100', async () => {
      const { ops } = await recording();
      writeFileSync(ops, readFileSync(ops, 'utf8') + 'frobnicate 1 2 3\n');
      const r = await cli(['xfstest', ops]);
      expect(r.code).toBe(100);
      oneLine(r, /unknown operation at 'frobnicate'/);
    });

    it('an output directory that cannot be made: 94', async () => {
      const { dir, ops } = await recording();
      writeFileSync(join(dir, 'afile'), '');
      const r = await cli(['xfstest', ops, '--out', join(dir, 'afile')]);
      expect(r.code).toBe(94);
      oneLine(r, /afile/);
    });
  });
});
