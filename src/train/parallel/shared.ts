/**
 * Shared-memory plumbing of data-parallel training: a reusable barrier and a sharded all-reduce
 * over SharedArrayBuffers, used by every worker with the same views.
 *
 * Layout: `ctrl` (Int32Array) = [arrived, generation]; `slots` (Float32Array) = one row of `len`
 * floats per worker (its local, already scaled gradient plus trailing statistics); `sum`
 * (Float32Array, `len`) = the reduced row every worker reads back.
 */

/** The shared buffers one parallel run uses (posted to every worker). */
export interface SharedBuffers {
  ctrl: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  sum: SharedArrayBuffer;
  /** Floats per row: parameters + statistics. */
  len: number;
  workers: number;
}

/** Allocate the buffers for `workers` workers reducing rows of `len` floats. */
export function allocateShared(workers: number, len: number): SharedBuffers {
  return {
    ctrl: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    slots: new SharedArrayBuffer(workers * len * Float32Array.BYTES_PER_ELEMENT),
    sum: new SharedArrayBuffer(len * Float32Array.BYTES_PER_ELEMENT),
    len,
    workers,
  };
}

/**
 * Block until all `workers` callers reached the barrier (generation counting, so it can be reused
 * immediately). Must run off the main thread or where `Atomics.wait` is allowed.
 */
export function barrier(ctrl: Int32Array, workers: number): void {
  const gen = Atomics.load(ctrl, 1);
  if (Atomics.add(ctrl, 0, 1) === workers - 1) {
    Atomics.store(ctrl, 0, 0);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
    return;
  }
  while (Atomics.load(ctrl, 1) === gen) Atomics.wait(ctrl, 1, gen);
}

/** One worker's view of the shared buffers. */
export class AllReduce {
  readonly ctrl: Int32Array;
  readonly slots: Float32Array;
  readonly sum: Float32Array;
  /** This worker's row of `slots`: write the local contribution here, then call {@link reduce}. */
  readonly mine: Float32Array;

  constructor(readonly buffers: SharedBuffers, readonly rank: number) {
    this.ctrl = new Int32Array(buffers.ctrl);
    this.slots = new Float32Array(buffers.slots);
    this.sum = new Float32Array(buffers.sum);
    this.mine = this.slots.subarray(rank * buffers.len, (rank + 1) * buffers.len);
  }

  /**
   * Sum every worker's row into `sum` and return it. Each worker adds its own shard of the row
   * (workers in rank order, so every run and every worker gets bit-identical sums); two barriers:
   * all rows written, then all shards summed. `sum` stays valid until this worker's next call.
   */
  reduce(): Float32Array {
    const { len, workers } = this.buffers;
    barrier(this.ctrl, workers);
    const lo = Math.floor((this.rank * len) / workers);
    const hi = Math.floor(((this.rank + 1) * len) / workers);
    const { slots, sum } = this;
    sum.set(slots.subarray(lo, hi), lo);
    for (let w = 1; w < workers; w++) {
      const base = w * len;
      for (let i = lo; i < hi; i++) sum[i]! += slots[base + i]!;
    }
    barrier(this.ctrl, workers);
    return sum;
  }
}

/** Rows [lo, hi) of a batch of `n` samples that worker `rank` of `workers` takes. */
export function shardOf(n: number, rank: number, workers: number): [number, number] {
  return [Math.floor((rank * n) / workers), Math.floor(((rank + 1) * n) / workers)];
}
