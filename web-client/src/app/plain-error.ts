/**
 * The PWA's errors in plain words (web-client/src/plain-error.ts), with the next step that fits each place: the
 * camera, classifying, syncing with the hub, the token, and events the hub refused. Every error the PWA shows goes
 * through one of these.
 */
import { plainError, rewordInputProblems } from '../plain-error';

/** Where a person gets a token: the PWA has no sign-in of its own. */
const ASK_FOR_LINK = 'Ask the hub\'s admin for a device or labeler link, or paste a new token in Settings.';

export const cameraProblem = (error: unknown): string =>
  plainError(error, {
    action: 'start the camera',
    next: {
      permission: 'Allow the camera for this site in the browser\'s settings, or choose an image file instead.',
      app: 'Choose an image file instead, or reload the page and try again.',
    },
  });

/** Loading or updating the model failed for a reason other than a refused (tampered) model: the model in use stays. */
export const modelProblem = (error: unknown, action: string): string =>
  plainError(error, {
    action,
    next: {
      network: 'The model in use stays; it is checked again when the hub answers.',
      'hub-failed': 'The model in use stays; it is checked again in a minute.',
      app: 'The model in use stays; use "Check for a new model" in Settings to try again, or reload the page.',
    },
  });

export const classifyProblem = (error: unknown): string => plainError(error, { action: 'classify this image', next: { app: 'Try another image, or reload the page.' } });

/** A sync that failed for a reason other than the token: events wait on the device and are sent again by themselves. */
export const syncProblem = (error: unknown): string =>
  plainError(error, {
    action: 'sync with the hub',
    next: {
      network: 'Nothing is lost: predictions and labels wait on this device and are sent once the hub answers.',
      'hub-failed': 'Nothing is lost: predictions and labels wait on this device and are sent again shortly.',
      busy: 'Nothing is lost: they are sent again shortly.',
      app: 'Nothing is lost: they wait on this device and are sent again shortly.',
    },
  });

/** The hub refused the token or the project (401, 403, 404): nothing is retried until Settings change. */
export const tokenProblem = (error: unknown): string =>
  plainError(error, {
    next: {
      token: `Predictions and labels are kept on this device. ${ASK_FOR_LINK}`,
      forbidden: `Predictions and labels are kept on this device. ${ASK_FOR_LINK}`,
      'not-found': 'Predictions and labels are kept on this device. Check the project in Settings (or open the link again).',
    },
  });

/** Events the hub refused as invalid (its reason as stored with them), kept on the device and not sent again. */
export const refusedEventsProblem = (count: number, reason: string): string =>
  `${count} event(s) refused by the hub, kept on this device: ${rewordInputProblems(reason)}. Reload the app to update it; if this stays, tell the hub's admin.`;

/** A shared image's upload error (the hub's words or a network failure), as the labeling list shows it. */
export const uploadProblem = (message: string): string => rewordInputProblems(message);
