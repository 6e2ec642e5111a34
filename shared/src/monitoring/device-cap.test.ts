import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { DeviceCap, hashDeviceKey } from './device-cap';

describe('device cap', () => {
  it('never lets a device hold more than floor(cap · max(size, burstWindow)) of the admitted window', () => {
    const random = mulberry32(1);
    const cap = new DeviceCap(50, 0.1);
    const window: number[] = [];
    let admitted = 0;
    let heavy = 0;
    for (let t = 0; t < 5000; t++) {
      // One device sends 60% of events, nine others the rest.
      const device = random() < 0.6 ? 0 : 1 + Math.floor(random() * 9);
      if (!cap.admit(device)) continue;
      admitted++;
      if (device === 0) heavy++;
      window.push(device);
      if (window.length > 50) window.shift();
      const held = window.filter((d) => d === device).length;
      expect(held).toBeLessThanOrEqual(Math.max(1, Math.floor(0.1 * Math.max(window.length, 50) + 1e-9)));
    }
    expect(Array.from(cap.devices())).toEqual(window);
    // The heavy device's 60% of arrivals becomes its cap of what the detectors see (plus the 5 slots it may take
    // while the window is shorter than burstWindow = 50).
    expect(heavy).toBeLessThanOrEqual(0.1 * admitted + 5);
    expect(heavy).toBeGreaterThan(0);
  });

  it('holds a device to its share of the last burstWindow admitted events too', () => {
    const random = mulberry32(3);
    const cap = new DeviceCap(300, 0.1, 20);
    const admitted: number[] = [];
    for (let t = 0; t < 3000; t++) {
      // Sessions: each device sends a run of about 5 events.
      const device = Math.floor(t / 5) % 40 === 0 ? 0 : Math.floor(random() * 40);
      if (!cap.admit(device)) continue;
      admitted.push(device);
      const recent = admitted.slice(-20);
      expect(recent.filter((d) => d === device).length).toBeLessThanOrEqual(2);
      const window = admitted.slice(-300);
      expect(window.filter((d) => d === device).length).toBeLessThanOrEqual(Math.floor(0.1 * Math.max(window.length, 20)));
    }
    // A run from one device: the first two events are admitted, the rest wait for 18 others.
    const fresh = new DeviceCap(300, 0.1, 20);
    expect([1, 1, 1, 1, 1].map(() => fresh.admit(99))).toEqual([true, true, false, false, false]);
  });

  it('admits everything at cap 1, and one event at a time for a lone device under a cap', () => {
    const open = new DeviceCap(10, 1);
    for (let t = 0; t < 30; t++) expect(open.admit(7)).toBe(true);
    const capped = new DeviceCap(10, 0.1);
    expect(capped.admit(7)).toBe(true);
    expect(capped.admit(7)).toBe(false);
    expect(() => new DeviceCap(10, 0.1, 11)).toThrow(/burstWindow = 11 must be an integer in \[1, window\]/);
  });

  it('rebuilds from its devices and decides the same afterwards', () => {
    const random = mulberry32(2);
    const a = new DeviceCap(20, 0.2);
    for (let t = 0; t < 100; t++) a.admit(Math.floor(random() * 6));
    const b = DeviceCap.fromDevices(20, 0.2, a.devices());
    for (let t = 0; t < 200; t++) {
      const device = Math.floor(random() * 6);
      expect(b.admit(device)).toBe(a.admit(device));
    }
  });

  it('hashes keys to 32-bit numbers that differ for different keys', () => {
    const hashes = new Set(Array.from({ length: 1000 }, (_, i) => hashDeviceKey(`device-${i}`)));
    expect(hashes.size).toBe(1000);
    for (const h of hashes) expect(h >>> 0).toBe(h);
  });
});
