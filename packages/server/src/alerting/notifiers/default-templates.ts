/**
 * The notification templates every configuration gets, named as Alertmanager names them
 * (`slack.default.title`, `pagerduty.default.description`, `email.default.subject`, ...), so user
 * templates and receiver fields can refer to them. The subject line follows Alertmanager's:
 * `[FIRING:2] <group label values> (<other common label values>)`.
 */
export const DEFAULT_TEMPLATES = `
{{ define "__alertmanager" }}Watchkeeper{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}{{ end }}
{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "__description" }}{{ end }}
{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}

{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}

{{ define "pagerduty.default.description" }}{{ template "__subject" . }}{{ end }}
{{ define "pagerduty.default.client" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "pagerduty.default.clientURL" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "pagerduty.default.instances" }}{{ template "__text_alert_list" . }}{{ end }}

{{ define "email.default.subject" }}{{ template "__subject" . }}{{ end }}
{{ define "__email_alert" }}<li><strong>{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value | html }} {{ end }}</strong>
{{ if gt (len .Annotations) 0 }}<ul>{{ range .Annotations.SortedPairs }}<li>{{ .Name }}: {{ .Value | html }}</li>{{ end }}</ul>{{ end }}
{{ if .GeneratorURL }}<a href="{{ .GeneratorURL | html }}">Source</a>{{ end }}</li>
{{ end }}
{{ define "email.default.html" }}<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ template "__subject" . }}</title></head>
<body style="font-family: sans-serif">
<h2>{{ .Alerts | len }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value | html }} {{ end }}</h2>
<p><a href="{{ template "__alertmanagerURL" . }}">View in {{ template "__alertmanager" . }}</a></p>
{{ if gt (len .Alerts.Firing) 0 }}<h3>[{{ .Alerts.Firing | len }}] Firing</h3><ul>{{ range .Alerts.Firing }}{{ template "__email_alert" . }}{{ end }}</ul>{{ end }}
{{ if gt (len .Alerts.Resolved) 0 }}<h3>[{{ .Alerts.Resolved | len }}] Resolved</h3><ul>{{ range .Alerts.Resolved }}{{ template "__email_alert" . }}{{ end }}</ul>{{ end }}
<p style="color: #999">Sent by {{ template "__alertmanager" . }}</p>
</body></html>
{{ end }}
{{ define "email.default.text" }}{{ template "__subject" . }}
{{ if gt (len .Alerts.Firing) 0 }}
Firing:
{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}
Resolved:
{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}{{ end }}
`;
