import { Inflate, deflateRaw } from 'pako';

/** Raw deflate (no zlib header; integrity is covered by the container's own CRC32). */
export function deflateBytes(data: Uint8Array, level = 9, dictionary?: Uint8Array): Uint8Array {
  return deflateRaw(data, dictionary ? { level: level as 9, dictionary } : { level: level as 9 });
}

/**
 * Inflate raw deflate data into exactly `expected` bytes. The output buffer is allocated at the
 * declared size up front and inflation stops as soon as the stream would exceed it, so a crafted
 * stream cannot make the reader allocate more than the file declares (no decompression bombs).
 *
 * @param what names the data in errors, e.g. `tensor 'dense/kernel'`
 * @param dictionary preset dictionary the stream was deflated with, if any
 */
export function inflateExact(data: Uint8Array, expected: number, what: string, dictionary?: Uint8Array): Uint8Array {
  const out = new Uint8Array(expected);
  let pos = 0;
  const chunkSize = Math.min(1 << 16, Math.max(1024, expected));
  const inflator = new Inflate(dictionary ? { raw: true, chunkSize, dictionary } : { raw: true, chunkSize });
  inflator.onData = (chunk: Uint8Array) => {
    if (pos + chunk.length > expected) {
      throw new Error(`${what}: compressed data inflates to more than the declared ${expected} bytes; refusing to continue`);
    }
    out.set(chunk, pos);
    pos += chunk.length;
  };
  inflator.onEnd = () => {};
  inflator.push(data, true);
  if (inflator.err) throw new Error(`${what}: corrupt deflate stream (${inflator.msg || `zlib error ${inflator.err}`})`);
  if (!inflator.ended || pos !== expected) {
    throw new Error(`${what}: compressed data inflates to ${pos} bytes, but ${expected} were declared`);
  }
  return out;
}
