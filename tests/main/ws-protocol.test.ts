// The browser host's wire format: Uint8Arrays anywhere travel as {"$bytes": base64} and come back intact.

import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, decodeWireMessage, encodeWireMessage, wsUrlFor } from '../../src/shared/ws-protocol.js';
import type { RunEvent } from '../../src/shared/api.js';

describe('ws-protocol', () => {
  it('round-trips nested byte arrays (a request with images, an event with a preview)', () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 255);
    const request = { id: 3, method: 'startRun' as const, params: { content: { name: 'a.png', bytes }, styles: [{ image: { name: 's', bytes: bytes.subarray(5, 9) }, blend: 1 }], settings: null } };
    const text = encodeWireMessage(request as never);
    expect(text).toContain('"$bytes"');
    expect(decodeWireMessage(text)).toEqual({ ...request, params: { ...request.params, styles: [{ image: { name: 's', bytes: bytes.slice(5, 9) }, blend: 1 }] } });

    const event: RunEvent = { runId: 'run-1-a', type: 'progress', loss: { iteration: 1, total: 1, style: {}, content: {}, tv: 0 }, iterations: 2, msPerIteration: 3, preview: { width: 1, height: 1, jpeg: new Uint8Array([255, 216]) } };
    const back = decodeWireMessage(encodeWireMessage({ event: 'runEvent', data: event })) as { data: RunEvent };
    expect(back.data).toEqual(event);
    expect((back.data as Extract<RunEvent, { type: 'progress' }>).preview!.jpeg).toBeInstanceOf(Uint8Array);
  });

  it('encodes standard padded base64 and rejects invalid base64', () => {
    expect(bytesToBase64(new Uint8Array([0, 1, 2, 253, 254]))).toBe('AAEC/f4=');
    expect(base64ToBytes('AAEC/f4=')).toEqual(new Uint8Array([0, 1, 2, 253, 254]));
    expect(() => decodeWireMessage('{"x":{"$bytes":"not base64!"}}')).toThrow(SyntaxError);
    expect(() => decodeWireMessage('{not json')).toThrow(SyntaxError);
  });

  it('derives the socket URL, token included, from the page URL', () => {
    expect(wsUrlFor('http://127.0.0.1:5173/?token=abc_DEF-1')).toBe('ws://127.0.0.1:5173/api?token=abc_DEF-1');
    expect(wsUrlFor('https://studio.example/index.html?token=t')).toBe('wss://studio.example/api?token=t');
  });
});
