/**
 * The stream plumbing of feature pipelines that consume event streams: any source becomes a ReadableStream (which
 * carries backpressure from the pipeline to the producer where the producer can wait), and {@link microBatches}
 * cuts that stream into size- and time-bounded micro-batches, reading only when the pipeline is ready for more.
 */
import { InvalidArgumentError, OperationAbortedError, ParseError, StreamOverflowError } from '../errors.ts';
import { describeValue } from '../util/describe.ts';

/**
 * Where a feature pipeline's events come from. Pull sources (an async iterable, a ReadableStream) wait for the
 * pipeline; push sources (a WebSocket, an EventSource) cannot be paused, so their events are buffered up to
 * {@link StreamOptions.maxBuffered}.
 */
export type StreamSource<T = unknown> = AsyncIterable<T> | ReadableStream<T> | WebSocket | EventSource;

/** How {@link toReadableStream} adapts a source. */
export interface StreamOptions {
  /** Events queued ahead of the consumer (pull sources are read this far ahead). Default 64. */
  highWaterMark?: number;
  /**
   * Push sources only: events held while the consumer is busy. One more and the stream fails with
   * {@link StreamOverflowError} and the socket or event source is closed. Default 10 000.
   */
  maxBuffered?: number;
  /**
   * Push sources only: turns a message's `data` into an event. Default: `JSON.parse` for strings, the data itself
   * otherwise (an ArrayBuffer or a Blob, as the WebSocket's `binaryType` says).
   */
  decode?: (data: unknown) => unknown;
  /** Aborting it fails the stream with {@link OperationAbortedError} and closes the source. */
  signal?: AbortSignal;
}

/** What {@link microBatches} takes. */
export interface MicroBatchOptions {
  /** A batch is yielded as soon as it holds this many events. */
  maxRows: number;
  /** ...or this many milliseconds after its first event arrived, whichever comes first. */
  maxWaitMs: number;
  /** Aborting it makes the generator throw {@link OperationAbortedError} and cancels the stream. */
  signal?: AbortSignal;
}

const DEFAULT_HIGH_WATER_MARK = 64;
const DEFAULT_MAX_BUFFERED = 10_000;

const WEBSOCKET_CLOSING = 2;
const WEBSOCKET_CLOSED = 3;
const EVENTSOURCE_CLOSED = 2;

/** The members of a WebSocket or an EventSource that the adapter uses. */
interface PushTarget {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener?(type: string, listener: (event: Event) => void): void;
  close(): void;
}

type SourceKind = 'ReadableStream' | 'WebSocket' | 'EventSource' | 'async iterable';

/**
 * Turns any {@link StreamSource} into a ReadableStream of events.
 *
 * - A ReadableStream is returned as it is (wrapped only when `signal` is given, so the signal can stop it).
 * - An async iterable is read only when the stream's consumer asks for more: a slow pipeline stops the producer
 *   once `highWaterMark` events wait. Cancelling the stream calls the iterator's `return()`.
 * - A WebSocket or an EventSource pushes `decode(event.data)` for every `message` event. It cannot be paused, so
 *   when more than `maxBuffered` events wait for the consumer the stream fails with {@link StreamOverflowError} and
 *   the source is closed. A clean WebSocket close ends the stream, an unclean one fails it; an EventSource ends when
 *   it gives up reconnecting. Adopt the socket in the task that created it, or early messages are missed.
 *
 * @example
 * ```ts
 * const socket = new WebSocket('wss://example.com/trips');
 * const events = toReadableStream(socket, { maxBuffered: 50_000, signal: controller.signal });
 * for await (const batch of microBatches(events, { maxRows: 500, maxWaitMs: 1000 })) {
 *   await trips.insert(batch);
 * }
 * ```
 */
export function toReadableStream<T>(source: StreamSource<T>, options: StreamOptions = {}): ReadableStream<unknown> {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 0) {
    throw new InvalidArgumentError(
      `highWaterMark must be a non-negative integer (events queued ahead of the consumer), got ${describeValue(highWaterMark)}.`,
    );
  }
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
    throw new InvalidArgumentError(
      `maxBuffered must be a positive integer (events held for a busy consumer), got ${describeValue(maxBuffered)}.`,
    );
  }
  if (options.decode !== undefined && typeof options.decode !== 'function') {
    throw new InvalidArgumentError(`decode must be a function from a message's data to an event, got ${describeValue(options.decode)}.`);
  }
  const { signal } = options;
  const kind = sourceKind(source);
  switch (kind) {
    case 'ReadableStream': {
      const stream = source as ReadableStream<T>;
      if (signal === undefined) return stream;
      const reader = stream.getReader();
      return pullStream(
        () => reader.read(),
        (reason) => reader.cancel(reason),
        highWaterMark,
        signal,
        kind,
      );
    }
    case 'async iterable': {
      const iterator = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
      return pullStream(
        () => iterator.next(),
        async (reason) => {
          await iterator.return?.(reason);
        },
        highWaterMark,
        signal,
        kind,
      );
    }
    case 'WebSocket':
    case 'EventSource':
      return pushStream(source as unknown as PushTarget, kind, {
        highWaterMark,
        maxBuffered,
        decode: options.decode ?? ((data) => defaultDecode(data, kind)),
        signal,
      });
  }
}

/**
 * Reads a stream as micro-batches: arrays of at most `maxRows` events, yielded as soon as a batch is full, when
 * `maxWaitMs` have passed since its first event arrived, or when the stream ends. Batches are never empty, and no
 * event is lost, repeated or reordered.
 *
 * Nothing is read while the consumer handles a batch, so a slow pipeline holds the stream back (and, through
 * {@link toReadableStream}, the producer). The one exception: a read already waiting when the time bound fires
 * stays open across the yield, and its event starts the next batch. Breaking out of the loop cancels the stream.
 * Bad options and a non-stream are reported when iteration starts.
 *
 * @example
 * ```ts
 * const events = toReadableStream(eventSource);
 * for await (const batch of microBatches(events, { maxRows: 200, maxWaitMs: 500, signal })) {
 *   await clicks.insert(batch); // the next batch is not read until this commit finishes
 * }
 * ```
 */
export async function* microBatches<T>(
  stream: ReadableStream<T>,
  options: MicroBatchOptions,
): AsyncGenerator<T[], void, undefined> {
  if (typeof (stream as Partial<ReadableStream<T>> | null)?.getReader !== 'function') {
    throw new InvalidArgumentError(
      `microBatches reads a ReadableStream, got ${describeValue(stream)}; adapt other sources with toReadableStream.`,
    );
  }
  const { maxRows, maxWaitMs, signal } = options ?? ({} as Partial<MicroBatchOptions>);
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw new InvalidArgumentError(`maxRows must be a positive integer, got ${describeValue(maxRows)}.`);
  }
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs <= 0) {
    throw new InvalidArgumentError(`maxWaitMs must be a finite number of milliseconds above 0, got ${describeValue(maxWaitMs)}.`);
  }
  throwIfStopped(signal);

  // Wakes the read of the current batch when its time bound passes or the signal aborts. One promise per batch, so
  // a long-lived signal does not collect a reaction for every read.
  let interrupt: ((why: Interrupt) => void) | undefined;
  const onAbort = (): void => interrupt?.(ABORTED);
  signal?.addEventListener('abort', onAbort, { once: true });

  const reader = stream.getReader();
  // A read started but not yet taken into a batch; it survives a time-bound flush.
  let pending: Promise<ReadableStreamReadResult<T>> | undefined;
  let settled = false; // the stream ended or failed: nothing to cancel
  let failed = false;
  let cancelReason: unknown;
  try {
    while (!settled) {
      const batch: T[] = [];
      let deadline = Number.POSITIVE_INFINITY;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake: (why: Interrupt) => void = () => undefined;
      const interrupted = new Promise<Interrupt>((resolve) => {
        wake = resolve;
      });
      interrupt = wake;
      try {
        while (batch.length < maxRows && performance.now() < deadline) {
          throwIfStopped(signal);
          pending ??= reader.read();
          let result: ReadableStreamReadResult<T> | Interrupt;
          try {
            result = await Promise.race([pending, interrupted]);
          } catch (error) {
            settled = true;
            throw error;
          }
          if (result === ABORTED) throw abortError(signal, 'Reading micro-batches');
          if (result === TIMED_OUT) break;
          pending = undefined;
          if (result.done) {
            settled = true;
            break;
          }
          batch.push(result.value);
          if (timer === undefined) {
            deadline = performance.now() + maxWaitMs;
            timer = setTimeout(() => wake(TIMED_OUT), maxWaitMs);
          }
        }
      } finally {
        clearTimeout(timer);
      }
      if (batch.length > 0) {
        yield batch;
        throwIfStopped(signal);
      }
    }
  } catch (error) {
    failed = true;
    cancelReason = error;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await letGo(reader, settled, failed, cancelReason);
  }
}

/**
 * Cancels the stream unless it already ended (which also settles a read left open across the last flush) and
 * releases the lock. A failed cancel is reported only when the generator is not already throwing: then the first
 * error is the one the consumer needs.
 */
async function letGo<T>(
  reader: ReadableStreamDefaultReader<T>,
  settled: boolean,
  failed: boolean,
  reason: unknown,
): Promise<void> {
  try {
    if (!settled) await reader.cancel(reason);
  } catch (cancelError) {
    if (!failed) throw cancelError;
  } finally {
    reader.releaseLock();
  }
}

const ABORTED = Symbol('aborted');
const TIMED_OUT = Symbol('timed out');
type Interrupt = typeof ABORTED | typeof TIMED_OUT;

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal, 'Reading micro-batches');
}

function abortError(signal: AbortSignal | undefined, what: string): OperationAbortedError {
  return new OperationAbortedError(`${what} was aborted; events already handed to the pipeline stay with it.`, {
    cause: signal?.reason,
  });
}

function sourceKind(source: unknown): SourceKind {
  if (source !== null && (typeof source === 'object' || typeof source === 'function')) {
    const s = source as Record<PropertyKey, unknown>;
    if (typeof s.getReader === 'function') return 'ReadableStream';
    const listens = typeof s.addEventListener === 'function' && typeof s.readyState === 'number';
    if (listens && typeof s.send === 'function') return 'WebSocket';
    if (listens && typeof s.withCredentials === 'boolean' && typeof s.close === 'function' && !('send' in s)) {
      return 'EventSource';
    }
    if (typeof s[Symbol.asyncIterator] === 'function') return 'async iterable';
  }
  throw new InvalidArgumentError(
    `A stream source must be an async iterable, a ReadableStream, a WebSocket or an EventSource, got ${describeValue(source)}.`,
  );
}

/** A ReadableStream that calls `next` only from `pull`, so the consumer's pace is the producer's pace. */
function pullStream<T>(
  next: () => Promise<IteratorResult<T>>,
  stop: (reason: unknown) => Promise<void>,
  highWaterMark: number,
  signal: AbortSignal | undefined,
  kind: SourceKind,
): ReadableStream<unknown> {
  let finished = false;
  let onAbort: (() => void) | undefined;
  const detach = (): void => {
    finished = true;
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  };
  return new ReadableStream<unknown>(
    {
      start(controller) {
        if (signal === undefined) return;
        onAbort = () => {
          if (finished) return;
          detach();
          const error = abortError(signal, `Reading the ${kind}`);
          controller.error(error);
          // The stream already failed with the abort; a source that also fails to stop has nothing to add to it.
          stop(error).catch(() => undefined);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      },
      async pull(controller) {
        let result: IteratorResult<T>;
        try {
          result = await next();
        } catch (error) {
          if (!finished) {
            detach();
            controller.error(error);
          }
          return;
        }
        if (finished) return;
        if (result.done === true) {
          detach();
          controller.close();
        } else {
          controller.enqueue(result.value);
        }
      },
      cancel(reason) {
        detach();
        return stop(reason);
      },
    },
    new CountQueuingStrategy({ highWaterMark }),
  );
}

interface PushOptions {
  highWaterMark: number;
  maxBuffered: number;
  decode: (data: unknown) => unknown;
  signal: AbortSignal | undefined;
}

/** A ReadableStream fed by a WebSocket's or an EventSource's `message` events, bounded by `maxBuffered`. */
function pushStream(target: PushTarget, kind: 'WebSocket' | 'EventSource', options: PushOptions): ReadableStream<unknown> {
  const { highWaterMark, maxBuffered, decode, signal } = options;
  // WebSocket: CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3. EventSource: CONNECTING 0, OPEN 1, CLOSED 2.
  if (target.readyState >= (kind === 'WebSocket' ? WEBSOCKET_CLOSED : EVENTSOURCE_CLOSED)) {
    throw new InvalidArgumentError(`The ${kind} is already closed; open a new one and adopt it before it delivers events.`);
  }

  let finished = false;
  let onAbort: (() => void) | undefined;
  let listeners: [string, (event: Event) => void][] = [];
  const release = (closeSource: boolean): void => {
    finished = true;
    for (const [type, listener] of listeners) target.removeEventListener?.(type, listener);
    listeners = [];
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    if (closeSource && target.readyState < WEBSOCKET_CLOSING) target.close();
  };

  return new ReadableStream<unknown>(
    {
      start(controller) {
        const fail = (error: unknown): void => {
          if (finished) return;
          release(true);
          controller.error(error);
        };
        const end = (): void => {
          if (finished) return;
          release(false);
          controller.close();
        };
        const listen = (type: string, listener: (event: Event) => void): void => {
          listeners.push([type, listener]);
          target.addEventListener(type, listener);
        };

        listen('message', (event) => {
          if (finished) return;
          let value: unknown;
          try {
            value = decode((event as MessageEvent).data);
          } catch (error) {
            fail(error);
            return;
          }
          const buffered = highWaterMark - (controller.desiredSize ?? 0);
          if (buffered >= maxBuffered) {
            fail(
              new StreamOverflowError(
                `The ${kind} delivered events faster than the pipeline took them: ${buffered} events were buffered ` +
                  `(maxBuffered ${maxBuffered}), so the stream stopped and the ${kind} was closed. Use larger ` +
                  `micro-batches (maxRows), raise maxBuffered, or feed the pipeline from a pull source (an async ` +
                  `iterable or a ReadableStream) that can wait.`,
                { details: { source: kind, buffered, maxBuffered } },
              ),
            );
            return;
          }
          controller.enqueue(value);
        });

        if (kind === 'WebSocket') {
          listen('close', (event) => {
            const { code, reason, wasClean } = event as CloseEvent;
            if (wasClean || code === 1000) {
              end();
            } else {
              fail(
                new Error(
                  `The WebSocket closed uncleanly (code ${code}${reason ? `, reason ${JSON.stringify(reason)}` : ''}); ` +
                    'events after the last micro-batch may be missing. Reconnect and resume from the last commit.',
                ),
              );
            }
          });
          listen('error', () => {
            fail(new Error('The WebSocket reported an error (browsers give no detail); the stream stopped.'));
          });
        } else {
          listen('error', () => {
            // While the browser reconnects (readyState CONNECTING) the stream goes on; CLOSED means it gave up.
            if (target.readyState === EVENTSOURCE_CLOSED) end();
          });
        }

        if (signal !== undefined) {
          onAbort = () => fail(abortError(signal, `Reading the ${kind}`));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }
      },
      cancel() {
        if (!finished) release(true);
      },
    },
    new CountQueuingStrategy({ highWaterMark }),
  );
}

function defaultDecode(data: unknown, kind: SourceKind): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data) as unknown;
  } catch (error) {
    throw new ParseError(
      `A ${kind} message is not JSON (${describeValue(data.length > 80 ? `${data.slice(0, 80)}…` : data)}); ` +
        'pass decode to read another format.',
      { cause: error },
    );
  }
}
