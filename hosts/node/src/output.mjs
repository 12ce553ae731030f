// The guest's stdout and stderr, as aci-host handles them
// (host/src/runtime/output.rs): split into lines, each line masked and written
// as a task log line (`[stdout] ` at info, `[stderr] ` at warning), never to
// this process's stdout (which carries the JSON result) unmasked.
//
// A line longer than the log line bound is cut there and the rest of it
// dropped; an unfinished last line is written when the call ends (`finish`).

/** Bytes a guest may write at once (`check-write`). */
const WRITE_BUDGET = 65536n;

/**
 * An output stream for the guest, a subclass of preview2-shim's
 * `wasi:io/streams` OutputStream (so the bindings accept it).
 *
 * @param {Function} OutputStream the shim's class
 * @param {() => object} readyPollable a pollable that is always ready
 * @param {(line: string) => void} onLine receives every complete line
 * @param {number} maxLine longest line kept, in bytes
 */
export function lineOutput(OutputStream, readyPollable, onLine, maxLine) {
  class LineOutput extends OutputStream {
    #pending = Buffer.alloc(0);
    #dropping = false;

    checkWrite() {
      return WRITE_BUDGET;
    }
    write(buf) {
      this.#push(Buffer.from(buf));
    }
    blockingWriteAndFlush(buf) {
      this.#push(Buffer.from(buf));
    }
    flush() {}
    blockingFlush() {}
    writeZeroes(len) {
      this.#push(Buffer.alloc(Number(len)));
    }
    blockingWriteZeroesAndFlush(len) {
      this.#push(Buffer.alloc(Number(len)));
    }
    splice() {
      throw { tag: "closed" };
    }
    blockingSplice() {
      throw { tag: "closed" };
    }
    subscribe() {
      return readyPollable();
    }

    /** Writes the unfinished last line, if any. */
    finish() {
      if (this.#pending.length) onLine(this.#pending.toString("utf8"));
      this.#pending = Buffer.alloc(0);
    }

    #push(bytes) {
      let rest = bytes;
      for (let nl = rest.indexOf(10); nl >= 0; nl = rest.indexOf(10)) {
        this.#append(rest.subarray(0, nl));
        if (!this.#dropping) onLine(this.#pending.toString("utf8").replace(/\r$/, ""));
        this.#pending = Buffer.alloc(0);
        this.#dropping = false;
        rest = rest.subarray(nl + 1);
      }
      this.#append(rest);
    }

    #append(bytes) {
      if (this.#dropping) return;
      this.#pending = Buffer.concat([this.#pending, bytes]);
      if (this.#pending.length > maxLine) {
        onLine(`${this.#pending.subarray(0, maxLine).toString("utf8").replace(/\uFFFD$/, "")} …[truncated]`);
        this.#pending = Buffer.alloc(0);
        this.#dropping = true;
      }
    }
  }
  return new LineOutput();
}
