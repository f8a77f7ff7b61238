/**
 * Alerts for the errors pillar's issue events: a new issue raises `NewErrorIssue`, a resolved issue
 * seen again raises `ErrorIssueRegression`. They are point events, so they carry no end time and
 * Alertmanager resolves them after its resolve_timeout; routing selects them by `alertname`,
 * `project` and `level` like any rule alert.
 */
import type { Issue } from '../model/error-issue.js';
import type { ExternalAlert } from './rule-manager.js';

/** The error levels that page as critical; the others are warnings. */
const CRITICAL_LEVELS = new Set(['fatal']);

/**
 * The alert for an issue event. `project` is the project's name (its id when it has none);
 * `issueUrl` links to the issue in the UI when known.
 */
export function issueEventAlert(kind: 'new' | 'regression', issue: Issue, project: string, issueUrl = ''): ExternalAlert {
  const annotations: Record<string, string> = {
    summary: `${kind === 'new' ? 'New issue' : 'Regression'} in ${project}: ${issue.title}`,
    description: issue.culprit === '' ? issue.title : `${issue.title} (${issue.culprit})`,
  };
  if (issueUrl !== '') annotations['issue_url'] = issueUrl;
  return {
    labels: {
      alertname: kind === 'new' ? 'NewErrorIssue' : 'ErrorIssueRegression',
      source: 'errors',
      project,
      level: issue.level,
      severity: CRITICAL_LEVELS.has(issue.level) ? 'critical' : 'warning',
      issue_id: String(issue.id),
      ...(issue.lastRelease === '' ? {} : { release: issue.lastRelease }),
    },
    annotations,
    generatorURL: issueUrl,
  };
}
