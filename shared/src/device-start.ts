/**
 * What the hub puts into the PWA's page on a device's first visit, so the first model check need not ask for each
 * text after the one before it (keys, then the channel pointer, then the manifest): the hub's trusted key set and the
 * channel's signed texts by object-store key. The device verifies every text exactly as if it had fetched it; the
 * keys are the hub's own answer, as registry.publicKeys would give it, since the hub serves the page.
 */
import { z } from 'zod';
import { trustedKeySetSchema } from './model-manifest';

/** The id of the page's `<script type="application/json">` element that holds it. */
export const DEVICE_START_ELEMENT_ID = 'edgeloop-start';

/** A pointer and up to two manifests (production and a canary's candidate) of one channel. */
export const MAX_DEVICE_START_OBJECTS = 3;

export const deviceStartSchema = z.object({
  keys: trustedKeySetSchema,
  /** Object-store key under cdn/ -> the signed text stored there. */
  objects: z.record(z.string().startsWith('cdn/'), z.string().max(64 * 1024)).refine((o) => Object.keys(o).length <= MAX_DEVICE_START_OBJECTS),
});
export type DeviceStart = z.infer<typeof deviceStartSchema>;
