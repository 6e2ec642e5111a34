/**
 * A reusable barrier for worker threads over shared memory: each caller blocks until all `parties` arrive.
 * Layout of `control`: [ARRIVED] arrivals in the current round, [GENERATION] rounds completed.
 */
const ARRIVED = 0;
const GENERATION = 1;

export function awaitBarrier(control: Int32Array, parties: number): void {
  if (parties === 1) return;
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.add(control, ARRIVED, 1) === parties - 1) {
    Atomics.store(control, ARRIVED, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  while (Atomics.load(control, GENERATION) === generation) Atomics.wait(control, GENERATION, generation);
}

/** Control slots after the barrier's: stop asked for by the coordinator, stop decided by replica 0. */
export const STOP_REQUESTED = 2;
export const STOP_DECIDED = 3;
export const CONTROL_SLOTS = 4;
