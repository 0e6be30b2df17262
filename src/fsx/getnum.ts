/**
 * fsx's getnum(): a C integer in any base strtoll accepts (0x.., 0.., decimal),
 * optionally followed by one multiplier letter: b (512), k (1024), m (1 MiB), w (4).
 * Returns undefined when the text is not such a number (fsx would silently
 * take a prefix; daxfsx says what is wrong instead).
 */
export function getnum(s: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([bBkKmMwW]?)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (body.length > 1 && body[0] === '0') v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  if (m[1] === '-') v = -v;
  switch (m[3].toLowerCase()) {
    case 'b':
      v *= 512;
      break;
    case 'k':
      v *= 1024;
      break;
    case 'm':
      v *= 1024 * 1024;
      break;
    case 'w':
      v *= 4;
      break;
  }
  return Number.isSafeInteger(v) ? v : undefined;
}

const LLONG_MAX = (1n << 63n) - 1n;
const LLONG_MIN = -(1n << 63n);

/**
 * C's strtoll(s, &end, 0): leading white space, a sign, then the longest run
 * of digits in the base the prefix picks (0x hex, 0 octal, else decimal);
 * saturates at the long long limits. With no digits the value is 0 and the
 * end is the start of the text.
 */
export function strtoll(s: string): { value: bigint; end: number } {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  let base = 10n;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16n;
    i += 2;
  } else if (s[i] === '0') base = 8n;
  const start = i;
  let v = 0n;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], 16);
    if (Number.isNaN(d) || BigInt(d) >= base) break;
    v = v * base + BigInt(d);
  }
  if (i === start) return { value: 0n, end: 0 };
  if (neg) v = -v;
  return { value: v > LLONG_MAX ? LLONG_MAX : v < LLONG_MIN ? LLONG_MIN : v, end: i };
}

/**
 * fsx's getnum() exactly as C runs it: strtoll, then one multiplier letter
 * right after the digits (b 512, k 1024, m 1 MiB, w 4), in long long
 * arithmetic that wraps; anything else after the number is ignored. `rest` is
 * what follows (where -m looks for its ':').
 */
export function fsxGetnum(s: string): { value: bigint; rest: string } {
  const { value, end } = strtoll(s);
  const mult: Record<string, bigint> = { b: 512n, k: 1024n, m: 1048576n, w: 4n };
  const m = mult[(s[end] ?? '').toLowerCase()];
  if (m === undefined) return { value, rest: s.slice(end) };
  return { value: BigInt.asIntN(64, value * m), rest: s.slice(end + 1) };
}

/** A value stored into a C int (32 bits, wrapping), as fsx's int options are. */
export function cInt(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}
