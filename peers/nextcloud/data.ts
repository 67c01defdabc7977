/**
 * Test content made on the fly (never committed): a deterministic byte pattern, as a Buffer or as a stream that
 * produces it block by block, so large uploads can be tested and benchmarked without holding them in memory.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 64 * 1024;

function baseBlock(seed: number): Buffer {
  const words = new Uint32Array(BLOCK / 4);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
}

/** Block `i` of the pattern: the seed's base block with the block number stamped in front. */
function block(base: Buffer, i: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32LE(i, 0);
  return b;
}

/** `size` bytes of the pattern for `seed`, as one Buffer. */
export function patternBuffer(size: number, seed = 1): Buffer {
  const base = baseBlock(seed);
  const out = Buffer.allocUnsafe(size);
  for (let at = 0, i = 0; at < size; at += BLOCK, i++) block(base, i).copy(out, at, 0, Math.min(BLOCK, size - at));
  return out;
}

/** The same bytes as patternBuffer(size, seed), produced as a stream (64 KiB at a time, with backpressure). */
export function patternStream(size: number, seed = 1): Readable {
  const base = baseBlock(seed);
  let at = 0;
  let i = 0;
  return new Readable({
    highWaterMark: BLOCK,
    read() {
      if (at >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(BLOCK, size - at);
      const b = block(base, i++);
      at += n;
      this.push(n === BLOCK ? b : b.subarray(0, n));
    },
  });
}

/** SHA-256 of the pattern without building it whole. */
export function patternSha256(size: number, seed = 1): string {
  const base = baseBlock(seed);
  const h = createHash('sha256');
  for (let at = 0, i = 0; at < size; at += BLOCK, i++) {
    const b = block(base, i);
    h.update(size - at >= BLOCK ? b : b.subarray(0, size - at));
  }
  return h.digest('hex');
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
