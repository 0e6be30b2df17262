import { describe, expect, it } from 'vitest';
import { parseOps } from '../../src/fsx/fsxops.js';
import { formatOpsLine } from '../../src/fsx/oplog.js';

describe('.fsxops format and parse', () => {
  const lines = [
    'write 0x15522 0xa14e 0x0',
    'skip read 0x0 0x0 0x0',
    'skip clone_range 0x8000 0xb000 0x29000 0x1f670',
    'zero_range 0x6fd0 0xbf9e 0xde0a keep_size',
    'fallocate 0x2b608 0x3ac0 0xde0a keep_size close_open unshare',
    'skip write_atomic 0x222d5b00 0x7c57 0xde0a close_open',
    'copy_range 0x2a000 0x379b 0x34000 0x3bb72 *',
    'truncate 0x0 0x65f0 0xafa1',
    'fsync 0x0 0x0 0x0',
  ];

  it('round-trips every line', () => {
    const p = parseOps(lines.join('\n') + '\n', 'x.fsxops');
    expect(p.error).toBeUndefined();
    expect(p.ops.map((e) => formatOpsLine(e, e.line === 7))).toEqual(lines);
  });

  it('ignores # lines and blank lines, keeping the # lines for daxfsx', () => {
    const p = parseOps('# daxfsx: seed 1\n\n  \nwrite 0x0 0x10 0x0\n#x\n', 'x');
    expect(p.ops.length).toBe(1);
    expect(p.comments.map((c) => c.line)).toEqual([1, 5]);
  });

  it('accepts any base strtoul does', () => {
    const p = parseOps('write 16 0x10 020\n', 'x');
    expect(p.ops[0].args.slice(0, 3)).toEqual([16, 16, 16]);
  });

  it('names the file, line and token of an error', () => {
    const cases: [string, number, string, RegExp][] = [
      ['write 0x0 0x10 0x0\nwrote 0x0 0x10 0x0\n', 2, 'wrote', /unknown operation/],
      ['write 0x0 0x1g 0x0\n', 1, '0x1g', /not a number/],
      ['write 0x0 0x10\n', 1, '0x10', /needs 3 arguments/],
      ['copy_range 0x0 0x10 0x0\n', 1, '0x0', /needs 4 arguments/],
      ['write 0x0 0x10 0x0 keepsize\n', 1, 'keepsize', /unknown flag/],
      ['skip\n', 1, 'skip', /missing/],
    ];
    for (const [text, line, token, why] of cases) {
      const p = parseOps(text, 'f.fsxops');
      expect(p.error?.line, text).toBe(line);
      expect(p.error?.token, text).toBe(token);
      expect(p.error?.message).toMatch(why);
      expect(p.error?.message.startsWith(`f.fsxops:${line}: `)).toBe(true);
    }
  });
});
