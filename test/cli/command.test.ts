import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromArgv } from '../../src/cli/program.js';
import { argvOf } from '../../src/core/argv.js';
import { cli, tmp } from '../helpers.js';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin');

describe('a command that behaves like one', () => {
  it('daxfsx help prints the help (and never runs a test on a file named help)', async () => {
    const d = tmp();
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: daxfsx \[options\] FILE/);
    expect(existsSync(join(d, 'help'))).toBe(false);
    expect((await cli(['help', 'sweep'])).stdout).toMatch(/^Usage: daxfsx sweep/);
    expect((await cli(['help', 'frob'])).code).toBe(90);
  });

  it("'-N ./f' says -N's value is not a number, not that the file is missing", async () => {
    const r = await cli(['-N', './f']);
    expect(r.code).toBe(90);
    expect(r.stderr).toMatch(/option -N: '\.\/f' is not a number/);
  });

  it('help text wraps at words, never leaving a sentence split by a hard newline', async () => {
    const r = await cli(['--help']);
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(r.stdout).toMatch(/designs x file systems, what each reaches/);
  });

  it('explore --help offers no per-run report options it would ignore', async () => {
    const r = await cli(['explore', '--help']);
    expect(r.stdout).not.toMatch(/--report|--shrink|--log-json|--record-ops/);
    expect(r.stdout).toMatch(/--summary/);
  });

  it('--duration 1 runs for about a second, not up to two', () => {
    const d = tmp();
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(bin, 'daxfsx'), '-q', '--duration', '1', '--kernel', 'deferred', join(d, 'f')], { encoding: 'utf8' });
    const ms = Date.now() - t0;
    expect(r.status).toBe(0);
    expect(ms).toBeLessThan(1800);
  });

  it('a missing scenario file is a file error (93), not a usage error', async () => {
    const r = await cli(['scenario', 'run', '/nonexistent/s.json']);
    expect(r.code).toBe(93);
    expect(r.stderr).toMatch(/No such file or directory/);
  });

  it('FORCE_COLOR colours the report even off a terminal; NO_COLOR and --no-color do not', async () => {
    const { useColor } = await import('../../src/cli/main.js');
    expect(useColor(true, { isTTY: false, env: { FORCE_COLOR: '1' } })).toBe(true);
    expect(useColor(true, { isTTY: true, env: { FORCE_COLOR: '0' } })).toBe(false);
    expect(useColor(true, { isTTY: true, env: { NO_COLOR: '1' } })).toBe(false);
    expect(useColor(false, { isTTY: true, env: { FORCE_COLOR: '1' } })).toBe(false);
    expect(useColor(true, { isTTY: false, env: {} })).toBe(false);
  });

  it('writing into a closed pipe ends the run at once and quietly, as fsx (SIGPIPE: exit 13)', () => {
    const d = tmp();
    const t0 = Date.now();
    const r = spawnSync('bash', ['-c', `'${process.execPath}' '${join(bin, 'daxfsx')}' -d --kernel deferred '${join(d, 'f')}' | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(Date.now() - t0).toBeLessThan(10_000); // no -N: without the pipe check it would run forever
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/rc=13/);
    expect(r.stderr).not.toMatch(/daxfsx: (ok|interrupted)/);
    expect(readFileSync(join(d, 'f.fsxlog'), 'utf8')).toMatch(/signal 13\ntestcalls = \d+/);
  });
});

describe('the daxfsx on the PATH, and under npx', () => {
  function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: root });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (x) => (stdout += x));
    p.stderr.on('data', (x) => (stderr += x));
    const done = new Promise<{ code: number | null }>((res) => p.on('close', (code) => res({ code })));
    return { p, done, out: () => stdout, err: () => stderr };
  }

  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    for (const ms of [900, 2000]) {
      it(`the README's daxfsx (bin/ on the PATH), ${sig} after ${ms} ms: exit ${n}, files written`, async () => {
        const d = tmp();
        const f = join(d, 'f');
        const r = start('daxfsx', ['-q', '--kernel', 'deferred', f], { ...process.env, PATH: `${bin}:${process.env.PATH}` });
        await new Promise((res) => setTimeout(res, ms));
        r.p.kill(sig);
        const { code } = await r.done;
        expect(code, r.err()).toBe(n);
        expect(readFileSync(`${f}.fsxlog`, 'utf8')).toContain(`signal ${n}\n`);
        expect(existsSync(`${f}.fsxops`)).toBe(true);
      });
    }
  }

  it('under npx, killing npx stops the run, with its files (npx passes no signal on)', async () => {
    const d = tmp();
    const f = join(d, 'f');
    // npx's own cache in a directory of this test's: npx killed while it sets up its cache entry leaves it
    // half made, and every later npx of this project would fail on it
    const r = start('npx', ['--no-install', 'daxfsx', '-q', '--kernel', 'deferred', f], { ...process.env, npm_config_cache: join(d, 'npm-cache') });
    // wait until the run is under way (the log file exists): npx takes its time on a loaded machine
    for (let i = 0; i < 600 && !existsSync(`${f}.fsxlog`); i++) await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(`${f}.fsxlog`), 'npx never started daxfsx').toBe(true);
    await new Promise((res) => setTimeout(res, 500));
    r.p.kill('SIGTERM');
    await r.done;
    // the run notices its npx went away within a second when the machine is idle; a loaded CI box gets more time
    for (let i = 0; i < 100 && !existsSync(`${f}.fsxops`); i++) await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(`${f}.fsxops`)).toBe(true);
    expect(readFileSync(`${f}.fsxlog`, 'utf8')).toContain('signal 15\n');
  }, 120_000);
});

describe('sweeps that a CI job and a person can act on', () => {
  it('exits 1 when a seed fails unexpectedly, 0 when --expect names its failures, and lists what was unexpected', async () => {
    const bad = await cli(['sweep', '--seeds', '1..4', '-N', '20000', '--jobs', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/Unexpected: \d+ of 4 seeds \(expected every seed clean\): \S+/);
    const sigs = [...bad.stdout.matchAll(/^(\S.*?)\s{2,}\d+\s+\d+\s+\d+$/gm)].map((m) => m[1]).filter((s) => s !== 'clean' && s !== 'signature');
    const ok = await cli(['sweep', '--seeds', '1..4', '-N', '20000', '--jobs', '1', '--expect', sigs.join(',')]);
    expect(ok.code, ok.stdout).toBe(0);
    const partly = await cli(['sweep', '--seeds', '1..4', '-N', '20000', '--jobs', '1', '--expect', 'iomap_page_mkwrite']);
    expect(partly.code).toBe(sigs.length > 1 ? 1 : 0);
    const clean = await cli(['sweep', '--seeds', '1..3', '-N', '2000', '--kernel', 'deferred', '--jobs', '1']);
    expect(clean.code).toBe(0);
  });

  it('prints, per signature, a command that reproduces its first seed, runnable as printed', async () => {
    const r = await cli(['sweep', '--seeds', '1..3', '-N', '20000', '--kernel', 'locked', '-l', '128k', '--jobs', '1', '--expect', 'any']);
    const m = /^  (\S+): daxfsx (.*) (\S+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const d = tmp();
    const args = m![2].split(' ');
    expect(args).toEqual(expect.arrayContaining(['--kernel', 'locked', '-l', '131072']));
    const again = await cli([...args, join(d, 'f'), '--summary', join(d, 's.json')]);
    expect(JSON.parse(readFileSync(join(d, 's.json'), 'utf8')).signature).toBe(m![1]);
  });

  it('--save-failures writes each signature\'s first seed with all its files, --shrink shrinks them', async () => {
    const d = tmp();
    const r = await cli(['sweep', '--seeds', '1..2', '-N', '20000', '--jobs', '1', '--expect', 'any', '--save-failures', d, '--shrink']);
    expect(r.code).toBe(0);
    const base = join(d, 'iomap_page_mkwrite-seed2');
    for (const ext of ['', '.fsxops', '.fsxlog', '.fsxgood', '.dmesg', '.html', '.min.fsxops']) expect(existsSync(base + ext), base + ext).toBe(true);
    expect(readFileSync(`${base}.dmesg`, 'utf8')).toMatch(/iomap_page_mkwrite/);
  });

  it('refuses per-run options with one line instead of ignoring them', async () => {
    for (const opt of [['--report', 'x.html'], ['--log-json', 'l'], ['--summary', 's'], ['--record-ops'], ['-P', '/tmp'], ['--replay-ops', 'f.fsxops']]) {
      const r = await cli(['sweep', '--seeds', '1..2', ...opt]);
      expect(r.code, opt.join(' ')).toBe(90);
      expect(r.stderr.trim().split('\n'), opt.join(' ')).toHaveLength(1);
    }
    expect((await cli(['sweep', '--seeds', '1..2', '--shrink'])).stderr).toMatch(/--save-failures/);
    expect((await cli(['sweep', '--seeds', '1..3', './f'])).stderr).toMatch(/a sweep takes no test file/);
    expect((await cli(['sweep'])).code).toBe(90);
  });

  it('sweep merge --help is help', async () => {
    const r = await cli(['sweep', 'merge', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: daxfsx sweep merge/);
  });

  it('a config and the options printed for it are the same run (the reproduce lines cannot drift)', () => {
    const cases = [[], ['-q', '-N', '20000', '--kernel', 'locked'], ['-l', '64k', '-o', '4k', '-O', '-r', '4096', '-w', '512', '-t', '4096', '-c', '7', '-b', '3', '-R', '-W', '-F', '-K', '-u', '-H', '-z', '-C', '-I', '-J', '-B', '-E', '-0', '-a', '-T', '-X', '-e', '1', '-f', '-y', '-x', '-g', 'Z', '-j', 'id', '-p', '9', '-D', '4', '--fs', 'ext4', '--initial-dax', 'off', '--flippers', '3', '--flip-weight', '2.5', '--flip-interval', '7', '--sched', 'pct', '--pct-depth', '4', '--panic-on-warn', '--hung-steps', '99'], ['-m', '100:2000', '-Z', '--no-flip'], ['-n', '-d']];
    for (const c of cases) {
      const config = configFromArgv(c);
      expect(configFromArgv(argvOf(config)), c.join(' ')).toEqual(config);
    }
  });
});

describe('the README says what the code does', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it('every option of the run command is in the README', async () => {
    const help = (await cli(['--help'])).stdout;
    const longs = [...help.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]).filter((o) => o !== 'help' && o !== 'version');
    for (const o of new Set(longs)) if (!/^no-/.test(o) || ['no-flip', 'no-explain', 'no-color'].includes(o)) expect(readme, `--${o}`).toContain(`--${o}`);
  });

  it("every exit code daxfsx's own table has is in the README's exit table", async () => {
    const { EXIT } = await import('../../src/core/outcome.js');
    const table = readme.slice(readme.indexOf('| exit | meaning |'));
    for (const code of Object.values(EXIT)) expect(table, `exit ${code}`).toMatch(new RegExp(`\\|[^|\\n]*\\b${code}\\b[^|\\n]*\\|`));
    for (const code of [13, 88, 2, 15, 110, 120]) expect(table).toMatch(new RegExp(`\\|[^|\\n]*\\b${code}\\b[^|\\n]*\\|`));
  });

  it('every example message in the bad-input table is what daxfsx says', async () => {
    const d = tmp();
    writeFileSync(join(d, 'bad.fsxops'), 'write 0x0 0x10 0x0 *\nfrobnicate 0x0\n');
    const cases: [string[], RegExp, number][] = [
      [['--bogus', 'f'], /unknown option '--bogus'/, 90],
      [['-l', '1g', 'f'], /option -l: '1g' is not a number/, 90],
      [['-o', 'x', 'f'], /option -o: 'x' is not a number/, 90],
      [[], /the test file name is required/, 90],
      [['--replay-ops', join(d, 'nope.fsxops'), join(d, 'g')], /No such file or directory/, 93],
      [['-q', '-P', join(d, 'nodir'), join(d, 'g')], /No such file or directory/, 92],
      [['-L', join(d, 'absent')], /No such file or directory/, 91],
      [['-k', join(d, 'absent')], /-k and -L need an existing, non-empty file/, 91],
    ];
    for (const [args, msg, code] of cases) {
      const r = await cli(args);
      // fsx's own start-up errors come on standard output, as fsx prints them
      expect(r.stderr + r.stdout, args.join(' ')).toMatch(msg);
      expect(r.code, args.join(' ')).toBe(code);
    }
    const table = readme.slice(readme.indexOf('### Bad input'));
    for (const s of ["unknown option '--bogus'", "'x' is not a number", 'the test file name is required', 'No such file or directory']) expect(table).toContain(s);
  });
});

describe('--version', () => {
  it("prints the package's version (the one recordings carry)", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
