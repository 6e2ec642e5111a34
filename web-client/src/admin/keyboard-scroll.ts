/**
 * A Svelte action for a container that scrolls sideways (a wide table on a phone): while its content is wider than
 * it, it joins the tab order, so people on a keyboard can reach it and scroll it with the arrow keys (WCAG 2.1.1;
 * axe's scrollable-region-focusable). When everything fits it leaves the tab order again.
 */
export function keyboardScrollable(node: HTMLElement): { destroy(): void } {
  const update = () => {
    if (node.scrollWidth > node.clientWidth) node.tabIndex = 0;
    else node.removeAttribute('tabindex');
  };
  // The container resizes with the window and as rows arrive (its height), which is when its overflow can change.
  const observer = new ResizeObserver(update);
  observer.observe(node);
  update();
  return { destroy: () => observer.disconnect() };
}
