import { describe, expect, it } from 'vitest';
import { cameraProblem, classifyProblem, modelProblem, refusedEventsProblem, syncProblem } from './plain-error';

describe('the PWA\'s plain errors', () => {
  it('tells a person refusing the camera how to allow it, or to pick a file', () => {
    const text = cameraProblem(new DOMException('Permission denied', 'NotAllowedError'));
    expect(text).toBe('Could not start the camera: the browser was not allowed to do this (permission refused). Allow the camera for this site in the browser\'s settings, or choose an image file instead.');
  });

  it('says nothing is lost when a sync fails for want of a network', () => {
    expect(syncProblem(new TypeError('Failed to fetch'))).toBe('Could not sync with the hub: the hub could not be reached (no network, or the hub is not running). Nothing is lost: predictions and labels wait on this device and are sent once the hub answers.');
  });

  it('says what to do with an image the browser cannot decode', () => {
    expect(classifyProblem(new DOMException('The source image could not be decoded.', 'EncodingError'))).toBe('Could not classify this image: the browser could not decode this image. Use a PNG, JPEG, WebP or GIF image.');
  });

  it('rewords the hub\'s reason for refused events and says what to do', () => {
    const text = refusedEventsProblem(2, 'predictions.0.latencyMs: Invalid input: expected number, received null');
    expect(text).toBe('2 event(s) refused by the hub, kept on this device: latencyMs is missing. Reload the app to update it; if this stays, tell the hub\'s admin.');
  });

  it('says the model in use stays when an update cannot be fetched', () => {
    expect(modelProblem(new TypeError('Failed to fetch'), 'update the model')).toBe('Could not update the model: the hub could not be reached (no network, or the hub is not running). The model in use stays; it is checked again when the hub answers.');
    expect(modelProblem(new TypeError("Cannot read properties of null (reading 'shape')"), 'run the model kept on this device')).toMatch(/^Could not run the model kept on this device: something went wrong inside the app\. The model in use stays/);
  });
});
