import { closeSync, openSync, writeSync } from 'node:fs';

/** A file or stream written through a buffer with synchronous flushes, so nothing is lost on exit. */
export class Sink {
  private chunks: string[] = [];
  private size = 0;
  private closed = false;
  /** The first write error, as a message; later writes are dropped. */
  error: string | null = null;
  /** The reader went away (EPIPE: `daxfsx ... | head -1`): not an error to report, a reason to stop. */
  broken = false;

  private constructor(
    private fd: number,
    private readonly owned: boolean,
    readonly path: string,
  ) {}

  /** An in-memory sink (tests, workers): read it back with text(). */
  static memory(name = 'memory'): Sink {
    const s = new Sink(-1, false, name);
    s.kept = [];
    return s;
  }

  private kept: string[] | null = null;

  /** What a memory sink has received. */
  text(): string {
    return (this.kept ?? []).join('') + this.chunks.join('');
  }

  static toFd(fd: number, name: string): Sink {
    return new Sink(fd, false, name);
  }

  /** Create or truncate a file; throws the fs error if it cannot. */
  static create(path: string): Sink {
    return new Sink(openSync(path, 'w'), true, path);
  }

  write(s: string): void {
    if (this.closed || this.error || this.broken) return;
    this.chunks.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) this.flush();
  }

  flush(): void {
    if (!this.chunks.length || this.error || this.broken) return;
    if (this.kept) {
      this.kept.push(this.chunks.join(''));
      this.chunks = [];
      this.size = 0;
      return;
    }
    const data = Buffer.from(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EAGAIN') continue;
        if (err.code === 'EPIPE') {
          this.broken = true;
          this.closed = true;
          return;
        }
        this.error = `${this.path}: ${err.code === 'ENOSPC' ? 'No space left on device' : err.message}`;
        return;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.owned) closeSync(this.fd);
  }
}
