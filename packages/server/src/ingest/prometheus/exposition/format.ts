/** The text exposition formats a scrape can receive, and how the scraper negotiates them. */

/** Prometheus text format 0.0.4, or OpenMetrics 1.0 (text). */
export type ExpositionFormat = 'prometheus-text' | 'openmetrics';

/** The Accept header Prometheus sends when scraping: OpenMetrics preferred, text format as fallback. */
export const SCRAPE_ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/**
 * Picks the parser for a response's Content-Type. As in Prometheus, anything that is not
 * OpenMetrics (including a missing or unknown type) is read as text format 0.0.4.
 */
export function formatFromContentType(contentType: string | undefined | null): ExpositionFormat {
  if (!contentType) return 'prometheus-text';
  const semi = contentType.indexOf(';');
  const mediaType = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'prometheus-text';
}
