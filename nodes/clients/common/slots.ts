/**
 * A table of records addressed by small integers, for records that come and go at a high rate (the deliveries in
 * hand of a consumer). A freed slot is cleared at once and reused, so the table stays as large as the most records
 * held at one time and never leaves a copy of itself behind.
 *
 * Why not a Map: a Map that lives long (V8 has moved it to the old generation) rehashes into a new table as entries
 * come and go, and the old table keeps every record it held until the next full collection. Each young-generation
 * collection then keeps those records, and everything they reach, alive and promotes them. With a message behind
 * each record (its body, its Node-RED msg, the closures waiting for it), almost every message of an AMQP consumer
 * ended in the old generation: the heap grew by about 4 KB a message between full collections, and the process
 * peaked 80 MB above its idle size (bench/amqp-throughput.ts).
 */
export class Slots<T> {
  private readonly items: Array<T | undefined> = [];
  private readonly free: number[] = [];
  /** Records held now. */
  size = 0;

  /** Stores a record; returns its slot. */
  add(item: T): number {
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.items.length;
    this.items[slot] = item;
    this.size += 1;
    return slot;
  }

  get(slot: number): T | undefined {
    return this.items[slot];
  }

  /** Frees a slot; returns what it held (undefined when it was free). */
  delete(slot: number): T | undefined {
    const item = this.items[slot];
    if (item === undefined) return undefined;
    this.items[slot] = undefined;
    this.free.push(slot);
    this.size -= 1;
    return item;
  }

  /** Every record held now with its slot (a snapshot: the callback may delete). */
  entries(): Array<[number, T]> {
    const out: Array<[number, T]> = [];
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) out.push([i, item]);
    }
    return out;
  }
}
