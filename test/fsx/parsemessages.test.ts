import { describe, expect, it } from 'vitest';
import { fsxParseMessages, type OptionUse } from '../../src/fsx/parsemessages.js';

/** Options as fsx's getopt loop meets them: ['-b', '5', '-q'] style, letters with a value where fsx's take one. */
function uses(...args: string[]): OptionUse[] {
  const withValue = new Set(['b', 'c', 'e', 'g', 'i', 'j', 'l', 'm', 'o', 'p', 'r', 's', 't', 'w', 'D', 'N', 'P', 'S']);
  const out: OptionUse[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const [name, value] = a.slice(2).split('=');
      out.push({ opt: name, value });
    } else {
      const opt = a.slice(1);
      out.push(withValue.has(opt) ? { opt, value: args[++i] } : { opt });
    }
  }
  return out;
}

const stdout = (...texts: string[]) => texts.map((text) => ({ stream: 'stdout', text }));
const parse = (...args: string[]) => fsxParseMessages(uses(...args), ['f']);

describe('fsx parse-time messages: -q', () => {
  it('-q silences only the options parsed after it, because fsx tests quiet as it parses', () => {
    expect(parse('-b', '5', '-q', '-c', '9', '-W').lines).toEqual(stdout('Will begin at operation 5'));
    expect(parse('-c', '9', '-W', '-q').lines).toEqual(stdout('Chance of close/open is 1 in 9', 'mapped writes DISABLED'));
    expect(parse('-q', '-b', '5', '-c', '9', '-W').lines).toEqual([]);
  });

  it('-a prints nothing wherever -q is, because the fsx the vectors came from only clears do_atomic_writes', () => {
    expect(parse('-a').lines).toEqual([]);
    expect(parse('-a', '-q').lines).toEqual([]);
  });

  it('-s prints nothing and is only range-checked, because fsx stores it in a local that nothing reads', () => {
    expect(parse('-s', '1')).toEqual({ lines: [] });
    expect(parse('-s', '2').stop).toEqual({ code: 90, why: 'option -s: must be 0 or 1 (got 2)' });
  });
});

describe('fsx parse-time messages: -j', () => {
  it('-j prefixes only messages of options parsed after it, because fsx sets the prefix as it parses', () => {
    expect(parse('-b', '5', '-j', 'id', '-c', '9', '-W').lines).toEqual(stdout('Will begin at operation 5', 'id: Chance of close/open is 1 in 9', 'id: mapped writes DISABLED'));
  });

  it('each line gets the -j value current when it is printed, because a later -j replaces the variable', () => {
    expect(parse('-j', 'one', '-W', '-j', 'two', '-W').lines).toEqual(stdout('one: mapped writes DISABLED', 'two: mapped writes DISABLED'));
  });

  it("-j '' still prefixes ': ', because prt() tests the pointer, not the text", () => {
    expect(parse('-j', '', '-W').lines).toEqual(stdout(': mapped writes DISABLED'));
  });

  it('every option prints each time it is given, because the loop handles each occurrence', () => {
    expect(parse('-W', '-W').lines).toEqual(stdout('mapped writes DISABLED', 'mapped writes DISABLED'));
    expect(parse('-b', '3', '-b', '7').lines).toEqual(stdout('Will begin at operation 3', 'Will begin at operation 7'));
  });
});

describe('fsx parse-time messages: values and where parsing stops', () => {
  it('-b and -c print before their check, because fsx checks the value after printing it', () => {
    expect(parse('-c', '0')).toEqual({ lines: stdout('Chance of close/open is 1 in 0'), stop: { code: 90, why: 'option -c: must be greater than 0 (got 0)' } });
    expect(parse('-b', '0')).toEqual({ lines: stdout('Will begin at operation 0'), stop: { code: 90, why: 'option -b: must not be 0 (got 0)' } });
  });

  it('parsing stops at the first bad value, because fsx calls usage() from inside the loop', () => {
    expect(parse('-c', '5', '-b', '0', '-W').lines).toEqual(stdout('Chance of close/open is 1 in 5', 'Will begin at operation 0'));
    expect(parse('-b', '0', '-c', '5').lines).toEqual(stdout('Will begin at operation 0'));
    expect(parse('-W', '-l', '0', '-W').lines).toEqual(stdout('mapped writes DISABLED'));
    expect(parse('-W', '-l', '0').stop?.why).toBe('option -l: must be greater than 0 (got 0)');
  });

  it('values are read as getnum() reads them into the C variable, because -c is an int and -b a long long', () => {
    expect(parse('-c', '4294967306').lines).toEqual(stdout('Chance of close/open is 1 in 10'));
    expect(parse('-c', '10k').lines).toEqual(stdout('Chance of close/open is 1 in 10240'));
    expect(parse('-c', '0x10').lines).toEqual(stdout('Chance of close/open is 1 in 16'));
    expect(parse('-b', '-5')).toEqual({ lines: stdout('Will begin at operation -5') });
    expect(parse('-b', '4294967296')).toEqual({ lines: stdout('Will begin at operation 4294967296') });
  });

  it('a value that is no number reads as 0 in fsx, so -c abc prints "1 in 0" before the stop', () => {
    expect(parse('-c', 'abc')).toEqual({ lines: stdout('Chance of close/open is 1 in 0'), stop: { code: 90, why: "option -c: 'abc' is not a number" } });
  });

  it('-S is a C int: 0 picks a seed, a value that wraps negative is refused', () => {
    expect(parse('-S', '0').stop).toBeUndefined();
    expect(parse('-S', '4294967297').stop).toBeUndefined();
    expect(parse('-S', '2147483648').stop?.code).toBe(90);
  });

  it('-m needs start, a colon and end as getnum leaves them, because fsx checks the character after the number', () => {
    expect(parse('-m', '100:200').stop).toBeUndefined();
    expect(parse('-m', ':200').stop).toBeUndefined();
    expect(parse('-m', '100').stop?.why).toMatch(/expected start:end/);
    expect(parse('-m', '-1:5').stop?.why).toMatch(/start must not be negative/);
  });

  it('--duration=0 exits 0 on the spot and --duration=-3 says so on stderr and exits 88, because fsx handles them in the loop', () => {
    expect(parse('-W', '--duration=0', '-W')).toEqual({ lines: stdout('mapped writes DISABLED'), stop: { code: 0, why: expect.stringMatching(/exits at once/) } });
    expect(parse('--duration=-3', '-W')).toEqual({ lines: [{ stream: 'stderr', text: '-3: invalid duration' }], stop: { code: 88, why: '' } });
    expect(parse('--duration=5x').stop).toBeUndefined();
  });
});

describe('fsx checks after the option loop', () => {
  it('-A with -U prints its own line on stderr after all the options were parsed', () => {
    expect(parse('-A', '-W', '-U')).toEqual({
      lines: [...stdout('mapped writes DISABLED'), { stream: 'stderr', text: "-A and -U shouldn't be used together" }],
      stop: { code: 90, why: '' },
    });
  });

  it('-i without -P prints its own line on stderr; with -P it is fine', () => {
    expect(parse('-i', 'dev').lines).toEqual([{ stream: 'stderr', text: 'option -i <logdev> requires -P <dirpath>' }]);
    expect(parse('-i', 'dev', '-P', 'd').stop).toBeUndefined();
  });

  it('the file name is checked before -A/-U, and the lines of all options are printed first', () => {
    const r = fsxParseMessages(uses('-W', '-A', '-U'), []);
    expect(r.lines).toEqual(stdout('mapped writes DISABLED'));
    expect(r.stop?.why).toMatch(/file name is required/);
  });
});
