import { type BlobPlace, keyboxCorrupted } from './keybox-corrupted.js';

/**
 * Reads a blob's fields front to back, refusing any read past the blob's end, so no length or
 * count in the file can make the reader look outside the blob it belongs to.
 */
export class BlobCursor {
  readonly #blob: Uint8Array;
  readonly #view: DataView;
  readonly #place: BlobPlace;
  #position: number;

  constructor(blob: Uint8Array, place: BlobPlace, position = 0) {
    this.#blob = blob;
    this.#view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    this.#place = place;
    this.#position = position;
  }

  get position(): number {
    return this.#position;
  }

  u8(field: string): number {
    return this.#view.getUint8(this.#claim(1, field));
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#claim(2, field));
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#claim(4, field));
  }

  /** The next `length` bytes, as a view of the blob. */
  take(length: number, field: string): Uint8Array {
    const start = this.#claim(length, field);
    return this.#blob.subarray(start, start + length);
  }

  skip(length: number, field: string): void {
    this.#claim(length, field);
  }

  #claim(length: number, field: string): number {
    const start = this.#position;
    if (length > this.#blob.length - start) {
      throw keyboxCorrupted(
        `${field} (${length} bytes) runs past the end of the blob (length ${this.#blob.length})`,
        this.#place,
        start,
      );
    }
    this.#position = start + length;
    return start;
  }
}
