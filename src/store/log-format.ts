import zlib from 'node:zlib';
import { StoreError } from './durable-store';

/**
 * The store log: an 8-byte file header, then records appended one after another, each
 *
 *     u32 LE payload length | u32 LE CRC-32 of (length bytes + payload) | payload
 *
 * where the payload is UTF-8 JSON: `["p", key, value]` for a put, `["d", key]` for a delete. The length lets a reader
 * find the next record; the CRC covers the length too, so a torn or bit-flipped header is caught as surely as a
 * damaged payload, and a zero-filled tail (what a file system may leave after a power cut) never checks out.
 */
export const LOG_HEADER = Buffer.from('CCWSLOG\u0001', 'latin1');
export const FRAME_HEADER_BYTES = 8;
/** A sanity bound so a garbled length field is rejected instead of being read as a huge record. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/**
 * What a put's value may take so that its record fits MAX_PAYLOAD_BYTES: the rest is the `["p","<key>",` framing,
 * with room for keys of up to about 200 characters.
 */
export const MAX_VALUE_BYTES = MAX_PAYLOAD_BYTES - 256;

export type LogRecord = { op: 'put'; key: string; value: unknown } | { op: 'delete'; key: string };

/** `json`, when given, is JSON.stringify(value): the record is then the same bytes without serialising it again. */
export function encodePut(key: string, value: unknown, json?: string): Buffer {
    // Inside an array JSON.stringify turns these into null silently; a record must read back as what was put.
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
        throw new TypeError(`The value for key "${key}" is not JSON-serialisable.`);
    }
    return frame(json === undefined ? JSON.stringify(['p', key, value]) : `["p",${JSON.stringify(key)},${json}]`);
}

export function encodeDelete(key: string): Buffer {
    return frame(JSON.stringify(['d', key]));
}

/** The record's JSON encoded straight after its header: one buffer per record, no copy of the payload. */
function frame(record: string): Buffer {
    const length = Buffer.byteLength(record, 'utf8');
    if (length > MAX_PAYLOAD_BYTES) {
        // Refused before anything is queued or applied to memory: only this put fails, the store goes on.
        throw new StoreError(`A store record is limited to ${MAX_PAYLOAD_BYTES} bytes; this one has ${length}.`, { reason: 'too-large' });
    }
    const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    framed.writeUInt32LE(length, 0);
    framed.write(record, FRAME_HEADER_BYTES, 'utf8');
    framed.writeUInt32LE(checksum(framed.subarray(0, 4), framed.subarray(FRAME_HEADER_BYTES)), 4);
    return framed;
}

/** The value stored in a put frame produced by `encodePut` (which is always intact: it came from memory). */
export function decodePutValue(framed: Buffer): unknown {
    return (JSON.parse(framed.toString('utf8', FRAME_HEADER_BYTES)) as unknown[])[2];
}

/** True when `frame` is one whole record whose length and CRC check out (what recovery checks, without parsing). */
export function isIntactFrame(frame: Buffer): boolean {
    if (frame.length < FRAME_HEADER_BYTES) return false;
    const length = frame.readUInt32LE(0);
    if (length === 0 || length !== frame.length - FRAME_HEADER_BYTES) return false;
    return checksum(frame.subarray(0, 4), frame.subarray(FRAME_HEADER_BYTES)) === frame.readUInt32LE(4);
}

export type ReadResult = { ok: true; record: LogRecord; frame: Buffer; next: number } | { ok: false };

/** Reads the record starting at `offset`; anything short, oversized, failing the CRC or of the wrong shape is bad. */
export function readRecord(log: Buffer, offset: number): ReadResult {
    if (log.length - offset < FRAME_HEADER_BYTES) return { ok: false };
    const length = log.readUInt32LE(offset);
    if (length === 0 || length > MAX_PAYLOAD_BYTES || log.length - offset - FRAME_HEADER_BYTES < length) return { ok: false };
    const end = offset + FRAME_HEADER_BYTES + length;
    const payload = log.subarray(offset + FRAME_HEADER_BYTES, end);
    if (checksum(log.subarray(offset, offset + 4), payload) !== log.readUInt32LE(offset + 4)) return { ok: false };
    const record = parsePayload(payload);
    if (!record) return { ok: false };
    return { ok: true, record, frame: log.subarray(offset, end), next: end };
}

function parsePayload(payload: Buffer): LogRecord | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(payload.toString('utf8'));
    } catch {
        return undefined;
    }
    if (!Array.isArray(parsed) || typeof parsed[1] !== 'string') return undefined;
    if (parsed[0] === 'p' && parsed.length === 3) return { op: 'put', key: parsed[1], value: parsed[2] };
    if (parsed[0] === 'd' && parsed.length === 2) return { op: 'delete', key: parsed[1] };
    return undefined;
}

function checksum(lengthBytes: Buffer, payload: Buffer): number {
    return crc32(payload, crc32(lengthBytes, 0));
}

// zlib.crc32 (Node 20.15+; the package needs 20.18.1 for undici) is the standard CRC-32, so a log reads the same on every Node.
const crc32 = (data: Buffer, initial: number): number => zlib.crc32(data, initial);
