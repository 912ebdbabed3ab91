// Navigation: which view shows what, a back stack, and the list of views for the sidebar and
// the shortcuts.
import { createContext, useContext } from 'react';

export type Route =
  | { view: 'overview' }
  | { view: 'entities'; entity?: string; kind?: string }
  | { view: 'errors' }
  | { view: 'orphans' }
  | { view: 'graph'; root?: string }
  | { view: 'scaffolder'; task?: string }
  | { view: 'sessions'; subject?: string }
  | { view: 'search'; query?: string }
  | { view: 'techdocs' }
  | { view: 'tables'; area?: string; table?: string }
  | { view: 'console' }
  | { view: 'migrations' }
  | { view: 'knex' }
  | { view: 'connections' };

export type ViewId = Route['view'];

export interface ViewInfo {
  id: ViewId;
  label: string;
  /** `g` then this key opens the view. */
  key: string;
}

export const VIEWS: ReadonlyArray<ViewInfo> = [
  { id: 'overview', label: 'Overview', key: 'o' },
  { id: 'entities', label: 'Entities', key: 'e' },
  { id: 'errors', label: 'Processing errors', key: 'p' },
  { id: 'orphans', label: 'Orphans', key: 'r' },
  { id: 'graph', label: 'Graph', key: 'g' },
  { id: 'scaffolder', label: 'Scaffolder', key: 's' },
  { id: 'sessions', label: 'Sessions & tokens', key: 'a' },
  { id: 'search', label: 'Search', key: 'f' },
  { id: 'techdocs', label: 'TechDocs', key: 'd' },
  { id: 'tables', label: 'Tables', key: 't' },
  { id: 'console', label: 'SQL console', key: 'q' },
  { id: 'migrations', label: 'Migrations', key: 'm' },
  { id: 'knex', label: 'Knex', key: 'k' },
  { id: 'connections', label: 'Connections', key: 'c' },
];

export interface Nav {
  route: Route;
  navigate: (route: Route) => void;
  /** Replaces the current route (a pane opened or closed inside a view). */
  replace: (route: Route) => void;
  back: () => void;
  canGoBack: boolean;
}

export const NavContext = createContext<Nav>({
  route: { view: 'overview' },
  navigate: () => {},
  replace: () => {},
  back: () => {},
  canGoBack: false,
});

export function useNav(): Nav {
  return useContext(NavContext);
}
