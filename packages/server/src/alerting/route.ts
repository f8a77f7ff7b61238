/**
 * The routing tree with Alertmanager's semantics: a route matches when its matchers do; children are
 * tried in order and the first matching child wins unless it has `continue: true`; a route with no
 * matching child is itself the result. Unset options inherit from the parent; the root's defaults are
 * group_wait 30s, group_interval 5m, repeat_interval 4h and no grouping.
 */
import type { Labels } from '../model/labels.js';
import { matchesAll, type CompiledMatcher } from '../model/matchers.js';
import { formatAmMatchers, sortMatchers } from './am-matchers.js';
import type { RouteConfig } from './config/am-config.js';

export interface RouteOptions {
  readonly receiver: string;
  readonly groupBy: ReadonlySet<string>;
  readonly groupByAll: boolean;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
}

const ROOT_DEFAULTS: RouteOptions = {
  receiver: '',
  groupBy: new Set(),
  groupByAll: false,
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
  repeatIntervalMs: 4 * 3600_000,
  muteTimeIntervals: [],
  activeTimeIntervals: [],
};

export class Route {
  readonly opts: RouteOptions;
  readonly matchers: readonly CompiledMatcher[];
  readonly continue: boolean;
  readonly routes: readonly Route[];
  /** Alertmanager's route key: the parent's key, `/`, and this route's matchers (`{}/{severity="critical"}`). */
  readonly key: string;
  /** Unique within the tree (siblings may share a key): the index path from the root, e.g. `0.2.1`. */
  readonly id: string;

  constructor(cfg: RouteConfig, parent: Route | null, index: number) {
    const p = parent?.opts ?? ROOT_DEFAULTS;
    this.opts = {
      receiver: cfg.receiver ?? p.receiver,
      groupBy: cfg.groupBy !== undefined ? new Set(cfg.groupBy) : p.groupBy,
      groupByAll: cfg.groupBy !== undefined ? cfg.groupByAll : p.groupByAll,
      groupWaitMs: cfg.groupWaitMs ?? p.groupWaitMs,
      groupIntervalMs: cfg.groupIntervalMs ?? p.groupIntervalMs,
      repeatIntervalMs: cfg.repeatIntervalMs ?? p.repeatIntervalMs,
      // Time intervals apply to the route that names them only, as in Alertmanager.
      muteTimeIntervals: cfg.muteTimeIntervals,
      activeTimeIntervals: cfg.activeTimeIntervals,
    };
    this.matchers = sortMatchers([...cfg.matchers]);
    this.continue = cfg.continue;
    this.key = parent ? `${parent.key}/${formatAmMatchers(this.matchers)}` : formatAmMatchers(this.matchers);
    this.id = parent ? `${parent.id}.${index}` : '0';
    this.routes = cfg.routes.map((r, i) => new Route(r, this, i));
  }

  /** The routes an alert with these labels reaches, in Alertmanager's (depth-first) order. */
  match(labels: Labels): Route[] {
    if (!matchesAll(this.matchers, labels)) return [];
    const all: Route[] = [];
    for (const child of this.routes) {
      const matches = child.match(labels);
      all.push(...matches);
      if (matches.length > 0 && !child.continue) break;
    }
    if (all.length === 0) all.push(this);
    return all;
  }

  /** Visits this route and its descendants depth-first. */
  walk(visit: (r: Route) => void): void {
    visit(this);
    for (const child of this.routes) child.walk(visit);
  }

  /** The labels of an alert that name its group on this route. */
  groupLabels(labels: Labels): Labels {
    if (this.opts.groupByAll) return labels;
    return labels.filter((l) => this.opts.groupBy.has(l.name));
  }
}

/** Builds the routing tree from the configuration's root route. */
export function buildRouteTree(cfg: RouteConfig): Route {
  return new Route(cfg, null, 0);
}
