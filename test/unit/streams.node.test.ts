import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, OperationAbortedError, ParseError, StreamOverflowError } from '../../src/errors.ts';
import { microBatches, toReadableStream, type StreamSource } from '../../src/pipelines/streams.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An endless producer that counts what it handed out and notices `return()`. */
function countingSource(): { source: AsyncGenerator<number>; produced: () => number; returned: () => boolean } {
  let produced = 0;
  let returned = false;
  async function* generate(): AsyncGenerator<number> {
    try {
      for (;;) {
        await Promise.resolve(); // an asynchronous producer, as a real feed would be
        produced += 1;
        yield produced - 1;
      }
    } finally {
      returned = true;
    }
  }
  return { source: generate(), produced: () => produced, returned: () => returned };
}

async function* slowly<T>(items: T[], everyMs: number): AsyncGenerator<T> {
  for (const item of items) {
    await sleep(everyMs);
    yield item;
  }
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

async function readAll(stream: ReadableStream<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

/** The members of a WebSocket our adapter relies on, on top of a real EventTarget. Counts listeners and closes. */
class FakeSocket extends EventTarget {
  readyState = 1;
  closeCalls = 0;
  listeners = 0;
  send(): void {}
  close(): void {
    this.closeCalls += 1;
    this.readyState = 3;
  }
  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.listeners += 1;
    super.addEventListener(...args);
  }
  override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
    this.listeners -= 1;
    super.removeEventListener(...args);
  }
  emit(data: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
  closeWith(code: number, reason: string, wasClean: boolean): void {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean }));
  }
  asSource(): StreamSource {
    return this as unknown as WebSocket;
  }
}

/** The members of an EventSource our adapter relies on (no `send`). */
class FakeEventSource extends EventTarget {
  readyState = 1;
  readonly withCredentials = false;
  closeCalls = 0;
  close(): void {
    this.closeCalls += 1;
    this.readyState = 2;
  }
  emit(data: string): void {
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
  fail(readyState: number): void {
    this.readyState = readyState;
    this.dispatchEvent(new Event('error'));
  }
  asSource(): StreamSource {
    return this as unknown as EventSource;
  }
}

describe('toReadableStream from an async iterable', () => {
  it('pulls the producer only as far as the consumer reads plus highWaterMark, and returns it on cancel', async () => {
    const { source, produced, returned } = countingSource();
    const highWaterMark = 4;
    const reader = toReadableStream(source, { highWaterMark }).getReader();
    const read: unknown[] = [];
    for (let i = 0; i < 5; i += 1) read.push((await reader.read()).value);
    await sleep(30);
    expect(read).toEqual([0, 1, 2, 3, 4]);
    expect(produced()).toBeGreaterThan(5); // it does read ahead...
    expect(produced()).toBeLessThanOrEqual(5 + highWaterMark + 1); // ...but no further than the queue allows
    const before = produced();
    await sleep(20);
    expect(produced()).toBe(before);
    expect(returned()).toBe(false);
    await reader.cancel('done');
    expect(returned()).toBe(true);
  });

  it('errors the stream when the iterator throws', async () => {
    const boom = new Error('sensor unplugged');
    async function* failing(): AsyncGenerator<number> {
      yield await Promise.resolve(1);
      throw boom;
    }
    const reader = toReadableStream(failing()).getReader();
    expect(await reader.read()).toEqual({ done: false, value: 1 });
    await expect(reader.read()).rejects.toBe(boom);
  });

  it('fails with OperationAbortedError and returns the iterator when the signal aborts', async () => {
    const { source, returned } = countingSource();
    const controller = new AbortController();
    const reader = toReadableStream(source, { highWaterMark: 1, signal: controller.signal }).getReader();
    expect((await reader.read()).value).toBe(0);
    controller.abort(new Error('user left the page'));
    await expect(reader.read()).rejects.toBeInstanceOf(OperationAbortedError);
    await sleep(0);
    expect(returned()).toBe(true);
  });

  it('returns a ReadableStream unchanged, and wraps it only so a signal can cancel it', async () => {
    let cancelled: unknown = null;
    const stream = new ReadableStream<number>({
      pull(controller) {
        controller.enqueue(1);
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    expect(toReadableStream(stream)).toBe(stream);
    const controller = new AbortController();
    const wrapped = toReadableStream(stream, { signal: controller.signal });
    expect(wrapped).not.toBe(stream);
    const reader = wrapped.getReader();
    expect((await reader.read()).value).toBe(1);
    controller.abort();
    await expect(reader.read()).rejects.toBeInstanceOf(OperationAbortedError);
    await sleep(0);
    expect(cancelled).toBeInstanceOf(OperationAbortedError);
  });
});

describe('microBatches', () => {
  it('cuts batches of maxRows and yields the last partial batch when the stream ends', async () => {
    const input = Array.from({ length: 100 }, (_, i) => i);
    const batches = await collect(microBatches(toReadableStream(from(input)), { maxRows: 30, maxWaitMs: 1000 }));
    expect(batches.map((b) => b.length)).toEqual([30, 30, 30, 10]);
    expect(batches.flat()).toEqual(input);
  });

  it('flushes a batch maxWaitMs after its first event, losing, repeating and reordering nothing', async () => {
    const input = Array.from({ length: 12 }, (_, i) => ({ id: i }));
    const batches = await collect(microBatches(toReadableStream(slowly(input, 8)), { maxRows: 1000, maxWaitMs: 25 }));
    expect(batches.flat()).toEqual(input);
    expect(batches.length).toBeGreaterThan(1); // the time bound cut the stream, not its end
    expect(batches.every((b) => b.length > 0 && b.length < input.length)).toBe(true);
  });

  it('flushes on time while the stream stalls, and carries the read left open into the next batch', async () => {
    let push!: ReadableStreamDefaultController<number>;
    const stream = new ReadableStream<number>({
      start(controller) {
        push = controller;
      },
    });
    const batches = microBatches(stream, { maxRows: 10, maxWaitMs: 20 });
    push.enqueue(0);
    push.enqueue(1);
    push.enqueue(2);
    const started = performance.now();
    expect(await batches.next()).toEqual({ done: false, value: [0, 1, 2] }); // the stream has not ended
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    push.enqueue(3); // answers the read that was open when the timer fired
    push.enqueue(4);
    push.close();
    expect(await batches.next()).toEqual({ done: false, value: [3, 4] });
    expect(await batches.next()).toEqual({ done: true, value: undefined });
  });

  it('holds a slow consumer\'s producer within maxRows + highWaterMark of what it consumed', async () => {
    const { source, produced, returned } = countingSource();
    const maxRows = 10;
    const highWaterMark = 8;
    const bound = maxRows + highWaterMark + 2;
    let consumed = 0;
    let count = 0;
    const seen: unknown[] = [];
    for await (const batch of microBatches(toReadableStream(source, { highWaterMark }), { maxRows, maxWaitMs: 20 })) {
      expect(produced() - consumed).toBeLessThanOrEqual(bound);
      await sleep(5); // the pipeline writes the batch
      expect(produced() - consumed).toBeLessThanOrEqual(bound);
      consumed += batch.length;
      seen.push(...batch);
      count += 1;
      if (count === 8) break;
    }
    expect(seen).toEqual(Array.from({ length: consumed }, (_, i) => i));
    expect(consumed).toBe(8 * maxRows);
    expect(returned()).toBe(true);
  });

  it('reads nothing while the consumer holds a full batch', async () => {
    const { source, produced } = countingSource();
    const batches = microBatches(toReadableStream(source, { highWaterMark: 0 }), { maxRows: 3, maxWaitMs: 20 });
    expect((await batches.next()).value).toEqual([0, 1, 2]);
    await sleep(30);
    expect(produced()).toBe(3);
    expect((await batches.next()).value).toEqual([3, 4, 5]);
    await batches.return();
  });

  it('throws OperationAbortedError when the signal aborts between batches, and returns the source', async () => {
    const { source, returned } = countingSource();
    const controller = new AbortController();
    const batches = microBatches(toReadableStream(source), { maxRows: 5, maxWaitMs: 20, signal: controller.signal });
    expect((await batches.next()).value).toEqual([0, 1, 2, 3, 4]);
    controller.abort();
    await expect(batches.next()).rejects.toBeInstanceOf(OperationAbortedError);
    expect(returned()).toBe(true);
  });

  it('throws OperationAbortedError when the signal aborts during a read, and cancels the stream', async () => {
    let cancelled = false;
    const stalled = new ReadableStream<number>({
      cancel() {
        cancelled = true;
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    await expect(collect(microBatches(stalled, { maxRows: 5, maxWaitMs: 20, signal: controller.signal }))).rejects.toBeInstanceOf(
      OperationAbortedError,
    );
    expect(cancelled).toBe(true);
  });

  it('refuses to start with an already aborted signal', async () => {
    const batches = microBatches(new ReadableStream(), { maxRows: 5, maxWaitMs: 20, signal: AbortSignal.abort() });
    await expect(batches.next()).rejects.toBeInstanceOf(OperationAbortedError);
  });

  it('propagates a stream error', async () => {
    const boom = new Error('feed went away');
    async function* failing(): AsyncGenerator<number> {
      yield await Promise.resolve(1);
      yield 2;
      throw boom;
    }
    await expect(collect(microBatches(toReadableStream(failing()), { maxRows: 1, maxWaitMs: 20 }))).rejects.toBe(boom);
  });

  it('cancels the source when the consumer breaks out of the loop', async () => {
    const { source, returned } = countingSource();
    for await (const batch of microBatches(toReadableStream(source), { maxRows: 3, maxWaitMs: 20 })) {
      expect(batch).toEqual([0, 1, 2]);
      break;
    }
    expect(returned()).toBe(true);
  });

  it('rejects bad options and non-streams with InvalidArgumentError', async () => {
    const stream = (): ReadableStream => new ReadableStream();
    for (const options of [
      { maxRows: 0, maxWaitMs: 10 },
      { maxRows: 1.5, maxWaitMs: 10 },
      { maxRows: Number.NaN, maxWaitMs: 10 },
      { maxRows: 5, maxWaitMs: 0 },
      { maxRows: 5, maxWaitMs: -1 },
      { maxRows: 5, maxWaitMs: Number.POSITIVE_INFINITY },
      { maxRows: 5 } as unknown as { maxRows: number; maxWaitMs: number },
    ]) {
      await expect(microBatches(stream(), options).next()).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(microBatches([1, 2] as unknown as ReadableStream, { maxRows: 5, maxWaitMs: 10 }).next()).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});

describe('toReadableStream from a push source', () => {
  it('decodes WebSocket messages as JSON, passes binary data through, and ends on a clean close', async () => {
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource());
    const bytes = new ArrayBuffer(2);
    socket.emit('{"id":1,"v":0.5}');
    socket.emit(bytes);
    socket.emit('[1,2]');
    socket.closeWith(1000, '', true);
    expect(await readAll(stream)).toEqual([{ id: 1, v: 0.5 }, bytes, [1, 2]]);
    expect(socket.listeners).toBe(0);
  });

  it('ends on close code 1000 even when the close is not marked clean', async () => {
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource());
    socket.emit('1');
    socket.closeWith(1000, '', false);
    expect(await readAll(stream)).toEqual([1]);
  });

  it('fails with StreamOverflowError once more than maxBuffered events wait, and closes the socket', async () => {
    const socket = new FakeSocket();
    const reader = toReadableStream(socket.asSource(), { maxBuffered: 5 }).getReader();
    for (let i = 0; i < 5; i += 1) socket.emit(String(i));
    expect(socket.closeCalls).toBe(0);
    socket.emit('5');
    expect(socket.closeCalls).toBe(1);
    expect(socket.listeners).toBe(0);
    const error: unknown = await reader.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamOverflowError);
    expect((error as Error).message).toMatch(/5 events were buffered/);
    expect((error as Error).message).toMatch(/maxBuffered/);
  });

  it('counts only events the consumer has not read yet against maxBuffered', async () => {
    const socket = new FakeSocket();
    const reader = toReadableStream(socket.asSource(), { maxBuffered: 3 }).getReader();
    const read: unknown[] = [];
    for (let round = 0; round < 4; round += 1) {
      for (let i = 0; i < 3; i += 1) socket.emit(String(round * 3 + i));
      for (let i = 0; i < 3; i += 1) read.push((await reader.read()).value);
    }
    expect(read).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(socket.closeCalls).toBe(0);
  });

  it('fails on an unclean close, naming the code and reason', async () => {
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource());
    socket.emit('1');
    socket.closeWith(1006, 'server restarted', false);
    await expect(readAll(stream)).rejects.toThrow(/1006.*server restarted/);
  });

  it('fails on a WebSocket error event', async () => {
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource());
    socket.dispatchEvent(new Event('error'));
    await expect(readAll(stream)).rejects.toThrow(/WebSocket reported an error/);
  });

  it('fails with the error a decode throws, and with ParseError for a message that is not JSON', async () => {
    const bad = new Error('not a trip');
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource(), {
      decode: (data) => {
        if (data === 'x') throw bad;
        return { raw: data };
      },
    });
    socket.emit('a');
    socket.emit('x');
    await expect(readAll(stream)).rejects.toBe(bad);
    expect(socket.closeCalls).toBe(1);

    const plain = new FakeSocket();
    const defaults = toReadableStream(plain.asSource());
    plain.emit('{not json');
    await expect(readAll(defaults)).rejects.toBeInstanceOf(ParseError);
  });

  it('closes the socket and removes its listeners when the stream is cancelled or the signal aborts', async () => {
    const socket = new FakeSocket();
    const stream = toReadableStream(socket.asSource());
    expect(socket.listeners).toBeGreaterThan(0);
    await stream.cancel();
    expect(socket.closeCalls).toBe(1);
    expect(socket.listeners).toBe(0);

    const other = new FakeSocket();
    const controller = new AbortController();
    const reader = toReadableStream(other.asSource(), { signal: controller.signal }).getReader();
    controller.abort();
    await expect(reader.read()).rejects.toBeInstanceOf(OperationAbortedError);
    expect(other.closeCalls).toBe(1);
    expect(other.listeners).toBe(0);
  });

  it('keeps an EventSource stream going while it reconnects and ends it when the EventSource gives up', async () => {
    const events = new FakeEventSource();
    const stream = toReadableStream(events.asSource());
    events.emit('{"n":1}');
    events.fail(0); // reconnecting
    events.readyState = 1;
    events.emit('{"n":2}');
    events.fail(2); // closed for good
    events.emit('{"n":3}'); // a closed EventSource sends nothing; if it did, it would be ignored
    expect(await readAll(stream)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(events.closeCalls).toBe(0);
  });

  it('closes an EventSource when its stream is cancelled', async () => {
    const events = new FakeEventSource();
    const stream = toReadableStream(events.asSource());
    await stream.cancel();
    expect(events.closeCalls).toBe(1);
  });
});

describe('toReadableStream argument checks', () => {
  it('rejects sources of no known kind, naming the kinds it takes', () => {
    for (const source of [null, 42, 'ws://x', {}, [1, 2], { readyState: 1, addEventListener() {} }]) {
      expect(() => toReadableStream(source as unknown as StreamSource)).toThrow(InvalidArgumentError);
    }
    expect(() => toReadableStream({} as StreamSource)).toThrow(/async iterable, a ReadableStream, a WebSocket or an EventSource/);
  });

  it('rejects bad options and a source that is already closed', () => {
    const source = countingSource().source;
    expect(() => toReadableStream(source, { highWaterMark: -1 })).toThrow(InvalidArgumentError);
    expect(() => toReadableStream(source, { highWaterMark: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => toReadableStream(source, { maxBuffered: 0 })).toThrow(InvalidArgumentError);
    expect(() => toReadableStream(source, { decode: 'json' as unknown as (data: unknown) => unknown })).toThrow(InvalidArgumentError);
    const closed = new FakeSocket();
    closed.readyState = 3;
    expect(() => toReadableStream(closed.asSource())).toThrow(InvalidArgumentError);
  });
});
