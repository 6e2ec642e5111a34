/** The admin's current route, following the location's hash (links, the back button, reloads). */
import { type AdminRoute, parseRoute } from './route';

class LiveRoute {
  current = $state<AdminRoute>(parseRoute(location.hash));

  constructor() {
    addEventListener('hashchange', () => (this.current = parseRoute(location.hash)));
  }

  /** Goes to `href` (a hash from routeHref); `replace` keeps the back button from stopping at every filter change. */
  go(href: string, { replace = false } = {}): void {
    if (replace) history.replaceState(history.state, '', href);
    else history.pushState(history.state, '', href);
    this.current = parseRoute(location.hash);
  }
}

export const route = new LiveRoute();
