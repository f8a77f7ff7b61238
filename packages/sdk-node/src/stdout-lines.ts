/**
 * Log lines for stdout, gathered into one string and handed to sonic-boom (which does the writing:
 * partial writes, EAGAIN, EPIPE) about 4 KiB at a time, at least every 250 ms, on flush and at exit.
 * Writes are synchronous, as Node's own stdout on Linux (an asynchronous one goes through the thread
 * pool, which cost more than the write). sonic-boom's own buffering accounts for every line (its
 * byte length, its bookkeeping): 1.4 to 2 µs a 330-byte line, against 0.3 µs for an append here.
 */
import pino, { type DestinationStream } from 'pino';

/** Characters gathered before a write. */
const CHUNK_CHARS = 4096;
/** Longest time a line waits before it is written. */
const FLUSH_MS = 250;

/** A pino destination writing to stdout in chunks. */
export class ChunkedStdout implements DestinationStream {
  private pending = '';
  private readonly out = pino.destination({ dest: 1, sync: true });
  private readonly timer = setInterval(() => this.writePending(), FLUSH_MS).unref();
  private readonly onExit = () => this.writePending();

  constructor() {
    process.on('exit', this.onExit);
  }

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= CHUNK_CHARS) this.writePending();
    return true;
  }

  /** Writes what is gathered; `done` is called once it is written. */
  flush(done?: (err?: Error) => void): void {
    this.writePending();
    this.out.flush(done);
  }

  /** Writes what is gathered and stops the timer and the exit hook (stdout itself stays open). */
  close(): void {
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    this.writePending();
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending;
    this.pending = '';
    this.out.write(chunk);
  }
}
