import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runEngine, tmp } from '../helpers.js';

describe('-s changes nothing', () => {
  it('-s 1 gives the same stream as -s 0, because fsx parses -s into a local that shadows the global its truncate reads', () => {
    const a = runEngine({ seed: 7, numops: 400, style: 0 });
    const b = runEngine({ seed: 7, numops: 400, style: 1 });
    expect(a.ops.some((l) => l.startsWith('truncate'))).toBe(true);
    expect(b.ops).toEqual(a.ops);
    expect(b.file.contents()).toEqual(a.file.contents());
  });

  it('on the command line too: -s 1 records the same .fsxops as no -s', async () => {
    const d = tmp();
    const strip = (p: string): string => readFileSync(p, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n');
    await cli(['-q', '--no-flip', '-S', '3', '-N', '300', '--record-ops', join(d, 'a')]);
    await cli(['-q', '--no-flip', '-s', '1', '-S', '3', '-N', '300', '--record-ops', join(d, 'b')]);
    expect(strip(join(d, 'b.fsxops'))).toBe(strip(join(d, 'a.fsxops')));
  });
});

describe('parse-time lines on the command line', () => {
  it('-j prefixes the lines of options after it and, as prt() does after parsing, the seed line', async () => {
    const d = tmp();
    const r = await cli(['-W', '-j', 'id', '-c', '9', '-N', '2', '--no-flip', join(d, 'f')]);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['mapped writes DISABLED', 'id: Chance of close/open is 1 in 9', 'id: Seed set to 1']);
  });

  it('-a prints nothing, with or without -q', async () => {
    const d = tmp();
    const r = await cli(['-a', '-N', '1', '--no-flip', join(d, 'f')]);
    expect(r.stdout).not.toMatch(/Atomic/);
  });

  it('parse-time lines are not in the .fsxlog, because fsx opens it after parsing', async () => {
    const d = tmp();
    const r = await cli(['-W', '-N', '3', '--no-flip', join(d, 'f')]);
    expect(r.stdout.startsWith('mapped writes DISABLED\nSeed set to 1\n')).toBe(true);
    expect(readFileSync(join(d, 'f.fsxlog'), 'utf8')).not.toMatch(/mapped writes|Seed set/);
  });

  it('a bad value after a printing option: the line, then the usage exit', async () => {
    const r = await cli(['-c', '5', '-b', '0', '-W', 'f']);
    expect(r.code).toBe(90);
    expect(r.stdout).toBe('Chance of close/open is 1 in 5\nWill begin at operation 0\n');
    expect(r.stderr).toBe('daxfsx: option -b: must not be 0 (got 0)\n');
  });

  it("a refusal of daxfsx's own comes after the lines fsx would have printed", async () => {
    const r = await cli(['-W', '-l', '1g', 'f']);
    expect(r.code).toBe(90);
    expect(r.stdout).toBe('mapped writes DISABLED\n');
    expect(r.stderr).toMatch(/-l: '1g' is not a number/);
  });

  it('-A with -U: fsx\'s own line on stderr, nothing else', async () => {
    const r = await cli(['-A', '-U', 'f']);
    expect(r).toEqual({ code: 90, stdout: '', stderr: "-A and -U shouldn't be used together\n" });
  });

  it('--duration=0 exits 0 before doing anything, and --duration=-2 exits 88', async () => {
    const d = tmp();
    const z = await cli(['--duration=0', join(d, 'f')]);
    expect(z.code).toBe(0);
    expect(z.stdout).toBe('');
    expect(existsSync(join(d, 'f'))).toBe(false);
    const n = await cli(['--duration=-2', join(d, 'f')]);
    expect(n).toEqual({ code: 88, stdout: '', stderr: '-2: invalid duration\n' });
  });

  it('C int values: -c 4294967306 is -c 10 and -b -5 runs with no simulated ops, as in fsx', async () => {
    const d = tmp();
    const r = await cli(['-c', '4294967306', '-b', '-5', '-N', '2', '--no-flip', join(d, 'f')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['Chance of close/open is 1 in 10', 'Will begin at operation -5']);
  });
});

describe('start-up errors go through fsx\'s prterr()', () => {
  it('-L on a missing file: "FILE: No such file or directory" on stdout and exit 91, because fsx opens it without O_CREAT and reports with prterr()', async () => {
    const d = tmp();
    const f = join(d, 'missing');
    const r = await cli(['-L', '-N', '3', '--no-flip', f]);
    expect(r.code).toBe(91);
    expect(r.stdout).toBe(`Seed set to 1\n${f}: No such file or directory\n`);
    expect(r.stderr).toBe('');
    // prt() writes to the log only once it is open, which is after the test file is
    expect(existsSync(`${f}.fsxlog`)).toBe(false);
  });

  it('with -j the prterr() line carries the prefix, like every prt() line', async () => {
    const d = tmp();
    const f = join(d, 'missing');
    const r = await cli(['-q', '-j', 'w1', '-L', f]);
    expect(r.stdout).toBe(`w1: ${f}: No such file or directory\n`);
  });

  it('-k alone on a missing file: fsx would create it; daxfsx refuses the empty file in its own words', async () => {
    const d = tmp();
    const r = await cli(['-q', '-k', join(d, 'none')]);
    expect(r.code).toBe(91);
    expect(r.stderr).toMatch(/need an existing, non-empty file/);
  });
});

describe("-k: fsx's copy probe is a real one-byte copy", () => {
  // fsx probes copy_file_range by copying byte 0 of the file to byte 1, after it read the kept file into its
  // good buffer: the file's byte 1 changes and fsx's idea of it does not, so its first check of byte 1 fails
  const kept = (): string => {
    const d = tmp();
    const f = join(d, 'f');
    writeFileSync(f, Uint8Array.from({ length: 8192 }, (_, i) => (i * 37 + 11) & 0xff));
    return f;
  };

  it('a kept file with data: byte 1 becomes byte 0, and the -X check after op 1 fails on it (exit 110)', async () => {
    const f = kept();
    const r = await cli(['-q', '-S', '1', '-N', '1', '-X', '-k', '-u', '-J', '-B', '-0', '-a', '--fs', 'ext4', '--no-flip', f]);
    expect(r.code).toBe(110);
    expect(r.stdout).toMatch(/READ BAD DATA: offset = 0x0, size = 0x1ae/);
    expect(r.stdout).toMatch(/^0x1\s+0x3055\s+0x0b55\s+0x0$/m);
    const final = readFileSync(f);
    expect(final[1]).toBe(final[0]);
  });

  it('with -E (no copy range) nothing is probed and the run is clean', async () => {
    const f = kept();
    const r = await cli(['-q', '-S', '1', '-N', '1', '-X', '-k', '-E', '-u', '-J', '-B', '-0', '-a', '--fs', 'ext4', '--no-flip', f]);
    expect(r.code).toBe(0);
    expect(readFileSync(f)[1]).toBe(48);
  });
});

describe('-Z: direct I/O off DAX must be aligned to the device sector', () => {
  // "DIO must be aligned to device logical sector size": xfs_file_dio_aio_write/_read and ext4's
  // do_blockdev_direct_IO give -EINVAL; a DAX inode's I/O goes through dax_iomap_rw, which does not care
  const run = (extra: string[]) => cli(['-q', '-S', '7', '-N', '50', '-Z', '-R', '-W', '--no-flip', ...extra, join(tmp(), 'f')]);

  it.each(['xfs', 'ext4'])('%s, not DAX, write boundary 1: the first write at 0x3d4bc fails with EINVAL (fsx exit 151)', async (fs) => {
    const r = await run(['--fs', fs, '--initial-dax', 'off']);
    expect(r.code).toBe(151);
    expect(r.stdout.split('\n')[0]).toBe('dowrite: write: Invalid argument');
  });

  it('not DAX, a misaligned read fails with EINVAL (fsx exit 141)', async () => {
    const r = await cli(['-q', '-S', '8', '-N', '50', '-Z', '-R', '-W', '--no-flip', '--fs', 'xfs', '--initial-dax', 'off', join(tmp(), 'f')]);
    expect(r.code).toBe(141);
    expect(r.stdout.split('\n')[0]).toBe('doread: read: Invalid argument');
  });

  it('from 5.8 a misaligned read of a hole reads zeros (iomap_dio_hole_actor): the same seed gets past it to its first misaligned write', async () => {
    const r = await cli(['-q', '-S', '8', '-N', '50', '-Z', '-R', '-W', '--no-flip', '--fs', 'xfs', '--kernel', 'deferred', '--initial-dax', 'off', join(tmp(), 'f')]);
    expect(r.code).toBe(151);
    expect(r.stdout.split('\n')[0]).toBe('dowrite: write: Invalid argument');
    expect(r.stdout).toMatch(/^5\(\s*5 mod 256\): READ\s+0x3e3 thru 0x5fe/m);
  });

  it('the same run on a DAX file, or with 512-byte boundaries, completes', async () => {
    expect((await run(['--fs', 'xfs'])).code).toBe(0);
    expect((await run(['--fs', 'ext4', '--initial-dax', 'off', '-r', '512', '-w', '512'])).code).toBe(0);
  });
});
