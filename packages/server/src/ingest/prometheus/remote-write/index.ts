/** Prometheus remote write 1.0 receiver. */
export { registerRemoteWriteRoutes, type RemoteWriteRouteOptions } from './remote-write-routes.js';
export { decodeWriteRequest, type WriteRequestLimits, type WriteRequestResult } from './write-request-decoder.js';
