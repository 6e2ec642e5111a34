/**
 * Actions held back for a short time before they are done, so a person can take one back ("Undo"). Chosen over a
 * retraction sent after the fact: the hub has no "take this label back" event, and a label that was never sent needs
 * none. The price is that a held action lives in memory: whoever uses this commits everything at once when the page
 * is hidden or closed (commitAll), so a label is never lost, only sent up to `ms` later.
 */
export interface HeldAction<T> {
  key: string;
  item: T;
  /** When it is done unless taken back (ms since epoch). */
  until: number;
}

export class UndoWindow<T> {
  private readonly held = new Map<string, { item: T; until: number; timer: ReturnType<typeof setTimeout> }>();

  /**
   * `commit` does the action (called once per held item, unless it was taken back); `onChange` is told whenever what
   * is held changes (to re-render).
   */
  constructor(
    private readonly ms: number,
    private readonly commit: (key: string, item: T) => Promise<void>,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Holds `item` under `key` for the window; a second one under the same key replaces the first (which is not done). */
  hold(key: string, item: T, now = Date.now()): void {
    this.cancel(key);
    const timer = setTimeout(() => void this.commitOne(key), this.ms);
    this.held.set(key, { item, until: now + this.ms, timer });
    this.onChange();
  }

  /** Takes a held action back: it is never done. Returns it, or undefined when it was done already (or never held). */
  undo(key: string): T | undefined {
    const held = this.cancel(key);
    if (held !== undefined) this.onChange();
    return held;
  }

  /** Does every held action now (the page is being hidden or closed). */
  async commitAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((key) => this.commitOne(key)));
  }

  get pending(): HeldAction<T>[] {
    return [...this.held].map(([key, { item, until }]) => ({ key, item, until }));
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  private cancel(key: string): T | undefined {
    const held = this.held.get(key);
    if (!held) return undefined;
    clearTimeout(held.timer);
    this.held.delete(key);
    return held.item;
  }

  private async commitOne(key: string): Promise<void> {
    const item = this.cancel(key);
    if (item === undefined) return;
    this.onChange();
    await this.commit(key, item);
  }
}
