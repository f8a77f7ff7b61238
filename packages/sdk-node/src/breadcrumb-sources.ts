/** Breadcrumbs from outgoing HTTP calls (node:http and fetch/undici), through diagnostics channels. */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Breadcrumb } from './errors/event.js';

type Add = (crumb: Omit<Breadcrumb, 'timestamp'>) => void;

/** Subscribes to the outgoing-request channels; returns the unsubscribe function. */
export function subscribeHttpBreadcrumbs(add: Add, isOwnUrl: (url: string) => boolean): () => void {
  const onHttp = (msg: unknown) => {
    const { request, response } = msg as { request: ClientRequest; response: IncomingMessage };
    const url = `${request.protocol}//${request.host}${request.path}`;
    if (!isOwnUrl(url)) add({ category: 'http', type: 'http', data: { method: request.method, url: url.split('?')[0], status_code: response.statusCode } });
  };
  const onUndici = (msg: unknown) => {
    const { request, response } = msg as { request: { method: string; origin: string; path: string }; response: { statusCode: number } };
    const url = `${request.origin}${request.path}`;
    if (!isOwnUrl(url)) add({ category: 'http', type: 'http', data: { method: request.method, url: url.split('?')[0], status_code: response.statusCode } });
  };
  diagnostics.subscribe('http.client.response.finish', onHttp);
  diagnostics.subscribe('undici:request:headers', onUndici);
  return () => {
    diagnostics.unsubscribe('http.client.response.finish', onHttp);
    diagnostics.unsubscribe('undici:request:headers', onUndici);
  };
}
