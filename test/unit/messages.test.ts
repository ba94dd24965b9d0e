import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors/errors.ts';
import { decodeBase64Json, parseMessage } from '../../shared/messages/decode.ts';
import { childTraceparent, newTraceparent, TraceparentSchema } from '../../shared/messages/fields.ts';
import { makeRequestId, ProcessorRequestSchema, RunRequestSchema } from '../../shared/messages/messages.ts';
import { makeProcessorRequest } from '../support/factories.ts';

describe('messages', () => {
  it('accepts the documented minimal run request', () => {
    expect(RunRequestSchema.parse({ partition: '2024-04-21', triggerSource: 'manual' })).toEqual({
      partition: '2024-04-21',
      triggerSource: 'manual',
    });
  });

  it.each([
    [{ partition: '2024/04/21', triggerSource: 'manual' }, 'partition'],
    [{ partition: '', triggerSource: 'manual' }, 'partition'],
    [{ gameDate: '2024-04-21', triggerSource: 'manual' }, 'partition'],
    [{ relativeDays: -1, triggerSource: 'scheduled' }, 'partition'],
    [{ partition: '2024-04-21', triggerSource: 'cron' }, 'triggerSource'],
    [{ partition: '2024-04-21', triggerSource: 'manual', extra: 1 }, '(root)'],
  ])('rejects %j naming %s', (payload, path) => {
    try {
      parseMessage(RunRequestSchema, payload, 'RunRequest');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain(path);
    }
  });

  it('derives request ids from run, phase and processor', () => {
    expect(makeRequestId({ runId: '2024-04-21_ab12', phase: 'raw', processor: 'games' })).toBe(
      '2024-04-21_ab12--raw--games',
    );
    const request = makeProcessorRequest({ phase: 'raw', processor: 'games' });
    expect(ProcessorRequestSchema.parse(request)).toEqual(request);
  });

  it('carries the trace id across hops with a new span id', () => {
    const parent = newTraceparent();
    const child = childTraceparent(parent);
    expect(TraceparentSchema.safeParse(child).success).toBe(true);
    expect(child.slice(0, 35)).toBe(parent.slice(0, 35));
    expect(child).not.toBe(parent);
  });

  it('decodes base64 JSON and names the failing step', () => {
    expect(decodeBase64Json(Buffer.from('{"a":1}').toString('base64'), 'X')).toEqual({ a: 1 });
    expect(() => decodeBase64Json(undefined, 'X')).toThrow('invalid X: message has no data');
    expect(() => decodeBase64Json(Buffer.from('{a').toString('base64'), 'X')).toThrow(
      /invalid X: data is not JSON/,
    );
  });
});
