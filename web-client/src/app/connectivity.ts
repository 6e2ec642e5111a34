/**
 * Whether the hub can be reached: what the user needs to know, and what decides when to sync and check for models.
 * `navigator.onLine` alone is not it: it stays true on a network with no route to the hub (and under some
 * browsers' offline emulation). Here a request that gets no answer means offline until a request gets one (a probe
 * of the hub runs every few seconds meanwhile) or the browser reports a change.
 */

/** How often the hub is probed while it cannot be reached. */
export const PROBE_MS = 5_000;

type Listener = (reachable: boolean) => void;
const listeners = new Set<Listener>();

/** Tells every listener what a request just showed. */
function report(reachable: boolean): void {
  for (const listener of listeners) listener(reachable);
}

/** What a proxy in front of the hub answers when the hub itself is not there. */
const GATEWAY_FAILURES = new Set([502, 503, 504]);

/**
 * `fetch` that reports reachability: an HTTP answer means the hub answered, unless it is a gateway's failure; a
 * rejected fetch (no route, no network, connection reset) means it did not. Aborted requests say nothing.
 */
export const reachabilityFetch: typeof fetch = async (input, init) => {
  try {
    const response = await fetch(input, init);
    report(!GATEWAY_FAILURES.has(response.status));
    return response;
  } catch (error) {
    if (!init?.signal?.aborted) report(false);
    throw error;
  }
};

/** Asks the hub whether it is there; the answer is reported like any other request's. */
export async function probeHub(): Promise<boolean> {
  try {
    const response = await fetch('/healthz', { cache: 'no-store' });
    report(response.ok);
    return response.ok;
  } catch {
    report(false);
    return false;
  }
}

/**
 * Follows reachability for a page: `onChange` is called when it flips. While unreachable it probes the hub every
 * PROBE_MS; the browser's `online` event starts a probe at once (it is a hint, not proof), its `offline` event is
 * believed (no network at all). Requests made through reachabilityFetch report themselves; after any other failed
 * request call probeHub(), whose answer is reported the same way.
 */
export function watchConnectivity(onChange: (online: boolean) => void): void {
  let online = navigator.onLine;
  let probe: ReturnType<typeof setInterval> | undefined;
  const set = (next: boolean) => {
    if (next === online) return;
    online = next;
    clearInterval(probe);
    probe = next ? undefined : setInterval(() => void probeHub(), PROBE_MS);
    onChange(next);
  };
  listeners.add(set);
  addEventListener('online', () => void probeHub());
  addEventListener('offline', () => set(false));
  if (!online) probe = setInterval(() => void probeHub(), PROBE_MS);
  void probeHub();
}
