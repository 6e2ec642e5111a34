/**
 * The device cap: events from one device are correlated (one person, one place, one camera), so no device may hold
 * more than a share `cap` of a detector window. The window is the last `window` admitted events; an event is admitted
 * when, after admitting it, its device would hold at most max(1, floor(cap · size)) of the window's `size` events.
 * The limit follows the window while it grows, so a burst from one device cannot fill the first events either.
 * With fewer than 1/cap devices the window cannot fill; a cap of 1 turns the rule off.
 */

/** FNV-1a of a device key's UTF-16 code units: the window keeps 32-bit keys (collisions among a window's devices are negligible). */
export function hashDeviceKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

export class DeviceCap {
  /** Ring of the admitted events' device hashes, [window]. */
  private readonly ring: Uint32Array;
  private readonly counts = new Map<number, number>();
  private start = 0;
  private size = 0;

  constructor(
    readonly window: number,
    readonly cap: number,
  ) {
    if (!Number.isInteger(window) || window < 1) throw new Error(`window = ${window} must be an integer >= 1`);
    if (!(cap > 0 && cap <= 1)) throw new Error(`cap = ${cap} must be in (0, 1]`);
    this.ring = new Uint32Array(window);
  }

  /** Decides on one event of `device` (a hashDeviceKey value) and records it when admitted. O(1). */
  admit(device: number): boolean {
    const full = this.size === this.window;
    const newSize = full ? this.size : this.size + 1;
    const evicted = full ? this.ring[this.start]! : undefined;
    const held = (this.counts.get(device) ?? 0) + 1 - (evicted === device ? 1 : 0);
    if (held > Math.max(1, Math.floor(this.cap * newSize + 1e-9))) return false;
    if (evicted !== undefined) {
      const left = this.counts.get(evicted)! - 1;
      if (left === 0) this.counts.delete(evicted);
      else this.counts.set(evicted, left);
      this.start = (this.start + 1) % this.window;
      this.size--;
    }
    this.ring[(this.start + this.size) % this.window] = device;
    this.size++;
    this.counts.set(device, (this.counts.get(device) ?? 0) + 1);
    return true;
  }

  /** The window's device hashes, oldest first [size]. */
  devices(): Uint32Array {
    const out = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.ring[(this.start + i) % this.window]!;
    return out;
  }

  /** Rebuilds the window from devices() (oldest first). */
  static fromDevices(window: number, cap: number, devices: ArrayLike<number>): DeviceCap {
    if (devices.length > window) throw new Error(`device window holds ${devices.length} entries, more than window = ${window}`);
    const out = new DeviceCap(window, cap);
    for (let i = 0; i < devices.length; i++) {
      out.ring[i] = devices[i]!;
      out.counts.set(devices[i]!, (out.counts.get(devices[i]!) ?? 0) + 1);
    }
    out.size = devices.length;
    return out;
  }
}
