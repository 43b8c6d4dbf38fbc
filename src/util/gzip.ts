import { gzip } from 'pako';

/**
 * Bytes of `data` after gzip at level 9 (pako): the figure a server or CDN sending the file
 * gzipped transfers. Pure TS + pako, so browser-safe code may use it too.
 */
export function gzipSize(data: Uint8Array): number {
  return gzip(data, { level: 9 }).byteLength;
}
