/**
 * The device and the hub turn the same image file into the same model input, compared value by value (pwa.e2e.ts
 * checks only that they predict the same label). The device side is the PWA's own code (image-pixels.ts, then the
 * shared pixelsToModelInput on its RGBA, as inference.worker.ts does), bundled and run in Chromium; the hub side is
 * its own code (to-pixels.ts decodeToPixels, then the same shared function), run here in Node.
 */
import path from 'node:path';
import { type Page, expect, test } from '@playwright/test';
import { build } from 'esbuild';
import sharp, { type Sharp } from 'sharp';
import { type Preprocessing, channelsOf, pixelsToModelInput } from '@edgeloop/shared';
import { FASHION_MNIST_LABELS } from '../hub/src/demo';
import { decodeToPixels } from '../hub/src/images/to-pixels';
import { testImages } from './pwa-helpers';

/** The Fashion-MNIST model's input (what the hub derives from a reference-cnn config). */
const GREY_28: Preprocessing = { height: 28, width: 28, color: 'grayscale', scale: 1, offset: 0 };
/** A colour model's input, with a scale and offset (values in [-1, 1]) so those are compared too. */
const RGB_28: Preprocessing = { height: 28, width: 28, color: 'rgb', scale: 2, offset: -1 };
const RGB_32: Preprocessing = { height: 32, width: 32, color: 'rgb', scale: 1, offset: 0 };

/**
 * How far apart resized inputs may be, in input units (scale 1: one pixel level is 1/255). Resizing is the one step
 * where the two sides run different code: Chromium's canvas (drawImage, imageSmoothingQuality 'high') and libvips
 * (sharp's resize, lanczos3) use different filters. On smooth pictures they agree to a few levels (measured with
 * Chromium 156: at most 4/255 shrinking, 10/255 enlarging 20x20 to 32x32); at hard one-pixel edges single values
 * differ by up to 47/255 shrinking and 67/255 enlarging, while the average difference stays small (measured
 * 4.6-8.3/255). So: the largest difference on smooth pictures, and the mean difference on hard-edged ones, must stay
 * within 12/255. A wrong channel order, scale, offset, size or orientation moves the mean far more than that.
 */
const RESAMPLING_TOLERANCE = 12 / 255;

let deviceBundle: string;

test.beforeAll(async () => {
  const bundle = await build({
    entryPoints: [path.join(import.meta.dirname, 'device-model-input.page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
  });
  deviceBundle = bundle.outputFiles[0]!.text;
});

test.beforeEach(async ({ page }) => {
  await page.addScriptTag({ content: deviceBundle });
});

/** The model input the hub computes for an image file (predict.service.ts, dataset-loader.ts): [h, w, c] row-major. */
async function hubModelInput(file: Uint8Array, p: Preprocessing): Promise<Float32Array> {
  const channels = channelsOf(p.color);
  return pixelsToModelInput(await decodeToPixels(file, { height: p.height, width: p.width, channels }), channels, p);
}

/** The model input the device computes for the same file, in the page (device-model-input.page.ts). */
async function deviceModelInput(page: Page, file: Uint8Array, type: string, p: Preprocessing): Promise<Float32Array> {
  const values = await page.evaluate(([base64, t, pre]) => window.deviceModelInput(base64, t, pre), [Buffer.from(file).toString('base64'), type, p] as const);
  return Float32Array.from(values);
}

interface Difference {
  max: number;
  mean: number;
}

/** Device and hub inputs for `file`, compared value by value; the numbers are kept as annotations of the test. */
async function compare(page: Page, name: string, file: Uint8Array, type: string, p: Preprocessing): Promise<Difference> {
  const [hub, device] = await Promise.all([hubModelInput(file, p), deviceModelInput(page, file, type, p)]);
  expect(device.length, name).toBe(p.height * p.width * channelsOf(p.color));
  expect(hub.length, name).toBe(device.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < hub.length; i++) {
    const d = Math.abs(hub[i]! - device[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  const difference = { max, mean: sum / hub.length };
  test.info().annotations.push({ type: 'difference', description: `${name}: max ${(max * 255).toFixed(2)}/255, mean ${(difference.mean * 255).toFixed(2)}/255` });
  return difference;
}

/** Opaque colour pixels [h, w, 3] from `colour(x, y)`, encoded by libvips. */
function picture(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): Sharp {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(colour(x, y).map(Math.round), (y * width + x) * 3);
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Gradients only: what resampling filters agree on. */
const smooth = (width: number, height: number) =>
  picture(width, height, (x, y) => [128 + 100 * Math.sin((x / width) * 6) * Math.cos((y / height) * 4), (255 * y) / (height - 1), (255 * x) / (width - 1)]);

/** Saturated colours, a one-pixel-sharp checkerboard and a disc: where resampling filters differ most. */
const hardEdged = (width: number, height: number) =>
  picture(width, height, (x, y) => {
    const inDisc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (Math.min(width, height) * 0.25) ** 2;
    return [inDisc ? 230 : 128 + 100 * Math.sin(x / 5), (255 * y) / (height - 1), (Math.floor(x / 6) + Math.floor(y / 6)) % 2 ? 200 : 40];
  });

test('at the model input size, device and hub give identical model inputs: Fashion-MNIST PNGs, colour PNG and JPEG', async ({ page }) => {
  for (const image of await testImages(FASHION_MNIST_LABELS, 3)) {
    expect((await compare(page, image.name, image.png, 'image/png', GREY_28)).max, image.name).toBe(0);
  }
  // Colour, with a scale and offset; the JPEG decodes the same in Chromium and libvips (both libjpeg-turbo).
  expect((await compare(page, 'colour PNG 28x28, rgb', await hardEdged(28, 28).png().toBuffer(), 'image/png', RGB_28)).max).toBe(0);
  expect((await compare(page, 'colour JPEG 32x32, rgb', await hardEdged(32, 32).jpeg({ quality: 90 }).toBuffer(), 'image/jpeg', RGB_32)).max).toBe(0);
});

/** A picture at sizes other than the model's 32x32, as PNG and JPEG: shrunk, and enlarged. */
async function otherSizes(make: (width: number, height: number) => Sharp): Promise<Array<[string, Buffer, string]>> {
  return [
    ['PNG 60x45', await make(60, 45).png().toBuffer(), 'image/png'],
    ['PNG 300x200', await make(300, 200).png().toBuffer(), 'image/png'],
    ['JPEG 97x73', await make(97, 73).jpeg({ quality: 90 }).toBuffer(), 'image/jpeg'],
    ['PNG 20x20 (enlarged)', await make(20, 20).png().toBuffer(), 'image/png'],
  ];
}

test('resized colour pictures (canvas vs libvips) stay within the resampling tolerance', async ({ page }) => {
  for (const [size, file, type] of await otherSizes(smooth)) {
    const name = `smooth ${size} -> 32x32`;
    expect((await compare(page, name, file, type, RGB_32)).max, name).toBeLessThanOrEqual(RESAMPLING_TOLERANCE);
  }
  for (const [size, file, type] of await otherSizes(hardEdged)) {
    const name = `hard-edged ${size} -> 32x32`;
    expect((await compare(page, name, file, type, RGB_32)).mean, name).toBeLessThanOrEqual(RESAMPLING_TOLERANCE);
  }
});

/**
 * For a greyscale model both sides make grey from sRGB with the shared greyOf (BT.601 weights). The hub once let
 * libvips convert (Rec.709 luminance in linear light): pure red was 127 there and 76 on the device, up to 57/255 apart.
 * The hub rounds its grey to a byte, the device keeps the fraction: at most half a level apart.
 */
test('colour pictures for a greyscale model become the same grey on the device and the hub', async ({ page }) => {
  const file = await hardEdged(28, 28).png().toBuffer(); // no resizing: only the grey conversion is compared
  const { max } = await compare(page, 'colour PNG 28x28, grey', file, 'image/png', GREY_28);
  expect(max).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
});
