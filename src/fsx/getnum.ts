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
