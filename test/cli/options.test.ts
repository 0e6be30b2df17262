import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../helpers.js';

describe('bad options get one line and the usage exit', () => {
  const cases: [string[], RegExp][] = [
    [['-N', '-5', 'f'], /-N: must not be negative/],
    [['-l', '0', 'f'], /-l: must be greater than 0/],
    [['-l', '1g', 'f'], /-l: '1g' is not a number/],
    [['-l', '1073741824', 'f'], /-l: the model holds at most 268435456/],
    [['-o', 'x', 'f'], /-o: 'x' is not a number/],
    [['-s', '2', 'f'], /-s: must be 0 or 1/],
    [['-q', '-c', '0', 'f'], /-c: must be greater than 0/], // without -q first, fsx prints 'Chance of close/open is 1 in 0' before its check
    [['-p', '0', 'f'], /-p: must not be 0/],
    [['-S', '-1', 'f'], /-S: must not be negative/],
    [['--kernel', 'nope', 'f'], /nope.*(immediate|Allowed)/],
    [['--bogus', 'f'], /unknown option '--bogus'/],
    [[], /test file name is required/],
    [['a', 'b'], /one test file only/],
    [['-i', 'dev', 'f'], /-i <logdev> requires -P/],
    [['-A', '-U', 'f'], /-A and -U/],
  ];
  for (const [args, why] of cases) {
    it(args.join(' ') || '(no arguments)', async () => {
      const r = await cli(args);
      expect(r.code).toBe(90);
      expect(r.stderr.split('\n')[0]).toMatch(why);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe('');
    });
  }

  it('--help lists the options in groups', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fsx: the operation stream');
    expect(r.stdout).toContain('daxfsx: the kernel model');
    expect(r.stdout).toContain('--max-file-len');
  });
});

describe('fsx behaviour at the edges', () => {
  it('prints parse-time messages unless -q came first', async () => {
    const d = tmp();
    const a = await cli(['-c', '10', '-q', '-N', '3', '--no-flip', join(d, 'f')]);
    expect(a.stdout.startsWith('Chance of close/open is 1 in 10\n')).toBe(true);
    const b = await cli(['-q', '-c', '10', '-N', '3', '--no-flip', join(d, 'f')]);
    expect(b.stdout.startsWith('All 3 operations completed A-OK!\n')).toBe(true);
  });

  it('a replay file that does not parse exits 100 naming file, line and token', async () => {
    const d = tmp();
    writeFileSync(join(d, 'bad.fsxops'), 'write 0x0 0x10 0x0\nfrobnicate 1 2 3\n');
    const r = await cli(['-q', '--no-flip', `--replay-ops=${join(d, 'bad.fsxops')}`, join(d, 'f')]);
    expect(r.code).toBe(100);
    expect(r.stderr).toContain(`${join(d, 'bad.fsxops')}:2: unknown operation at 'frobnicate'`);
    expect(r.stdout).toBe('testcalls = 2\n');
  });

  it('an unreadable replay file and a missing -P directory get fsx exits', async () => {
    const d = tmp();
    const a = await cli(['--no-flip', `--replay-ops=${join(d, 'none')}`, join(d, 'f')]);
    expect(a.code).toBe(93);
    expect(a.stderr).toMatch(/none: No such file or directory/);
    const b = await cli(['--no-flip', '-P', join(d, 'nodir'), join(d, 'f')]);
    expect(b.code).toBe(92);
  });

  it('the replay input is never overwritten by the run it drives', async () => {
    const d = tmp();
    const f = join(d, 'f');
    await cli(['-q', '-N', '50', '--no-flip', '--record-ops', f]);
    const before = readFileSync(`${f}.fsxops`, 'utf8');
    const r = await cli(['-q', '--no-flip', '--record-ops', `--replay-ops=${f}.fsxops`, f]);
    expect(r.code).toBe(0);
    expect(readFileSync(`${f}.fsxops`, 'utf8')).toBe(before);
    expect(existsSync(`${f}.replay.fsxops`)).toBe(true);
  });
});

describe('-k and -L start from the file on disk', () => {
  it('the model holds the existing contents, fsx checks them, and the file keeps what it did not overwrite', async () => {
    const d = tmp();
    const f = join(d, 'k');
    const bytes = Buffer.alloc(70000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 255;
    writeFileSync(f, bytes);
    // -E: fsx's copy probe would copy byte 0 over byte 1 first (test/fsx/startup.test.ts)
    const r = await cli(['-q', '-k', '-E', '-N', '300', '-X', '--no-flip', f]);
    expect(r.code, r.stdout.slice(0, 300)).toBe(0);
    const lite = join(d, 'l');
    writeFileSync(lite, bytes);
    const l = await cli(['-q', '-L', '-N', '300', '--kernel', 'deferred', lite]);
    expect(l.code).toBe(0);
    expect(readFileSync(lite).length).toBe(70000);
    const s = await cli(['sweep', '--seeds', '1..2', '-k']);
    expect(s.code).toBe(90);
  });
});
