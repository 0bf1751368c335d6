import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunkWindows, lastSuccessfulRun } from '../../src/pipelines/pipelines.ts';
import { chunkBatchId } from '../../src/pipelines/feature-pipeline.ts';
import { PipelineRunError, StreamOverflowError, deserializeError, serializeError } from '../../src/errors.ts';
import type { PipelineRunRecord } from '../../src/registry/types.ts';

const run = (id: string, status: PipelineRunRecord['status'], end: number | null, startedAt: number, mode: PipelineRunRecord['mode'] = 'window'): PipelineRunRecord => ({
  id, pipeline: 'p', status, mode, trigger: 'manual', window: mode === 'stream' ? null : { start: null, end }, chunkMs: null, params: {},
  inputs: [], outputs: [], chunks: [], chunkCount: 0, resumeOf: null, logs: [], startedAt, endedAt: null, durationMs: null, error: null,
});

describe('chunkWindows', () => {
  it('cuts a window into consecutive chunks, the last one shorter', () => {
    expect(chunkWindows(0, 25, 10)).toEqual([{ start: 0, end: 10 }, { start: 10, end: 20 }, { start: 20, end: 25 }]);
    expect(chunkWindows(0, 20, 10)).toEqual([{ start: 0, end: 10 }, { start: 10, end: 20 }]);
  });

  it('keeps one window when there is no chunk length or no start', () => {
    expect(chunkWindows(0, 25, null)).toEqual([{ start: 0, end: 25 }]);
    expect(chunkWindows(null, 25, 10)).toEqual([{ start: null, end: 25 }]);
  });

  it('refuses a window that would be cut into too many chunks', () => {
    expect(() => chunkWindows(0, 1e12, 1)).toThrow(/chunks/);
  });

  it('covers [start, end) exactly, without gaps or overlaps (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), (start, length, given) => {
        const chunk = Math.max(given, Math.ceil(length / 500)); // at most 500 chunks: a fast property
        const windows = chunkWindows(start, start + length, chunk);
        expect(windows[0]!.start).toBe(start);
        expect(windows.at(-1)!.end).toBe(start + length);
        windows.forEach((w, i) => {
          expect(w.end! - w.start!).toBeGreaterThan(0);
          expect(w.end! - w.start!).toBeLessThanOrEqual(chunk);
          if (i > 0) expect(w.start).toBe(windows[i - 1]!.end);
        });
      }),
      { seed: 6, numRuns: 300 },
    );
  });
});

describe('lastSuccessfulRun', () => {
  it('is the succeeded incremental (or all-history) run whose window ends last', () => {
    const runs = [
      run('a', 'succeeded', 100, 1, 'incremental'),
      run('b', 'succeeded', 300, 2, 'incremental'),
      run('c', 'failed', 500, 3, 'incremental'),
      run('d', 'succeeded', 200, 4, 'incremental'), // ends earlier than b
      run('e', 'succeeded', null, 5, 'stream'),
      run('f', 'aborted', 900, 6, 'incremental'),
    ];
    expect(lastSuccessfulRun(runs)?.id).toBe('b');
    expect(lastSuccessfulRun([run('x', 'failed', 10, 1, 'incremental')])).toBeNull();
    expect(lastSuccessfulRun([run('x', 'succeeded', 10, 1, 'incremental'), run('y', 'succeeded', 10, 2, 'incremental')])?.id).toBe('y');
  });

  it('ignores window runs over part of history (they did not see every late row), counts those over all of it', () => {
    const partial = { ...run('w', 'succeeded', 900, 3), window: { start: 500, end: 900 } };
    expect(lastSuccessfulRun([run('i', 'succeeded', 300, 1, 'incremental'), partial])?.id).toBe('i');
    expect(lastSuccessfulRun([run('i', 'succeeded', 300, 1, 'incremental'), run('all', 'succeeded', 600, 2)])?.id).toBe('all');
  });
});

describe('pipeline batch ids and errors', () => {
  it('names a chunk by pipeline (case-insensitively), namespace and index', () => {
    expect(chunkBatchId('Daily', 'run-1', 3)).toBe('pipeline:daily:run-1:3');
    expect(chunkBatchId('daily', 'run-1', 3)).toBe(chunkBatchId('DAILY', 'run-1', 3));
    expect(chunkBatchId('daily', 'run-1', 3)).not.toBe(chunkBatchId('daily', 'run-2', 3));
  });

  it('keeps the pipeline error classes and their codes across a worker boundary', () => {
    const failed = deserializeError(structuredClone(serializeError(new PipelineRunError('failed', { details: { run: { id: 'r' } } }))));
    expect(failed).toBeInstanceOf(PipelineRunError);
    expect((failed as PipelineRunError).code).toBe('PIPELINE_FAILED');
    expect((failed as PipelineRunError).details).toEqual({ run: { id: 'r' } });
    const overflow = deserializeError(structuredClone(serializeError(new StreamOverflowError('too many'))));
    expect(overflow).toBeInstanceOf(StreamOverflowError);
    expect((overflow as StreamOverflowError).code).toBe('STREAM_OVERFLOW');
  });
});
