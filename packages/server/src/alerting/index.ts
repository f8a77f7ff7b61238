/** Alerting: Alertmanager-compatible routing, grouping, inhibition, silences and notifications. */
export { AlertManagerService, buildTemplates, type AlertManagerServiceOptions, type AlertView } from './alertmanager-service.js';
export { fingerprintLabels, type Alert, type PostableAlert } from './alert.js';
export { AlertingConfigError, loadAlertingSection, loadAlertmanagerFile, parseAlertmanagerYaml, type AmConfig } from './config/am-config.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { SilenceError, type Silence, type SilenceMatcher, type SilenceState } from './silences.js';
