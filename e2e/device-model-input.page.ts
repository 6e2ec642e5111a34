/**
 * Bundled into a blank page by preprocessing.e2e.ts: the device's own path from an image file to the model input,
 * as the PWA runs it (model-controller.svelte.ts calls toModelPixels, inference-model.ts pixelsToModelInput on its RGBA).
 */
import { type Preprocessing, pixelsToModelInput } from '@edgeloop/shared';
import { toModelPixels } from '../web-client/src/app/image-pixels';

declare global {
  interface Window {
    /** The model input for an image file (base64), [height, width, channels] row-major. */
    deviceModelInput(base64: string, type: string, p: Preprocessing): Promise<number[]>;
  }
}

window.deviceModelInput = async (base64, type, p) => {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const { rgba } = await toModelPixels(new Blob([bytes], { type }), p);
  return Array.from(pixelsToModelInput(rgba, 4, p));
};
