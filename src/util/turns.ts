/** Gives the event loop a turn now and then, from a long synchronous search (a signal, a progress line, the test runner's heartbeat are not held up). */
export class Turns {
  private last = performance.now();
  async maybe(): Promise<void> {
    if (performance.now() - this.last > 100) {
      await new Promise((r) => setImmediate(r));
      this.last = performance.now();
    }
  }
}
