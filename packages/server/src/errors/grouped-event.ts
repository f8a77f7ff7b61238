/** A normalised, scrubbed event → what the error store takes: its indexed header, its JSON text and its grouping. */
import { userKey, type ErrorEvent } from '../model/error-event.js';
import type { GroupedEvent } from '../storage/error-store.js';
import { encodePayload } from '../storage/signal-store/errors/errors-payload.js';
import { groupEvent, type Grouping } from './grouping.js';

/** Groups `event` (unless `grouping` is given) and serialises it once for storage. */
export function toGroupedEvent(event: ErrorEvent, grouping: Grouping = groupEvent(event)): GroupedEvent {
  return {
    header: {
      eventId: event.eventId,
      projectId: event.projectId,
      timestampMs: event.timestampMs,
      receivedMs: event.receivedMs,
      level: event.level,
      platform: event.platform,
      release: event.release,
      environment: event.environment,
      userKey: userKey(event.user),
      traceId: event.traceId,
      spanId: event.spanId,
      tagsJson: JSON.stringify(event.tags),
    },
    payload: encodePayload(event),
    fingerprint: grouping.fingerprint,
    title: grouping.title,
    culprit: grouping.culprit,
    type: grouping.type,
  };
}
