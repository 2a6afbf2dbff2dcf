{{/*
Expand the name of the chart.
*/}}
{{- define "scim-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name. Truncated at 63 characters
because some Kubernetes name fields are limited to this (by the DNS naming
spec). If the release name contains the chart name it is used as the full
name.
*/}}
{{- define "scim-bridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "scim-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "scim-bridge.labels" -}}
helm.sh/chart: {{ include "scim-bridge.chart" . }}
{{ include "scim-bridge.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "scim-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The name of the service account to use.
*/}}
{{- define "scim-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scim-bridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "scim-bridge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The name of the Secret holding token hashes, the access key and the DSN.
*/}}
{{- define "scim-bridge.secretName" -}}
{{- default (include "scim-bridge.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The store backend selected in the bridge config.
*/}}
{{- define "scim-bridge.storeType" -}}
{{- $store := default dict .Values.config.store }}
{{- default "sqlite" $store.type }}
{{- end }}

{{/*
Refuse setting combinations that would corrupt data or cannot work.
*/}}
{{- define "scim-bridge.validate" -}}
{{- $store := include "scim-bridge.storeType" . }}
{{- if not (has $store (list "sqlite" "postgres")) }}
{{- fail (printf "config.store.type must be sqlite or postgres, not %q" $store) }}
{{- end }}
{{- if and (eq $store "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail "config.store.type sqlite supports exactly one replica (the SQLite file has one writer): set replicaCount to 1 or use config.store.type: postgres" }}
{{- end }}
{{- /* Secrets belong in the Secret, never in the ConfigMap; the bridge
       also refuses a secret given both inline and as a file. */}}
{{- $cfg := default dict .Values.config }}
{{- if hasKey (default dict $cfg.gainsight) "accessKey" }}
{{- fail "config.gainsight.accessKey must not be set: it would be stored in a ConfigMap; set secrets.gainsightAccessKey or put gainsight-access-key in secrets.existingSecret" }}
{{- end }}
{{- if hasKey (default dict (default dict $cfg.store).postgres) "dsn" }}
{{- fail "config.store.postgres.dsn must not be set: it would be stored in a ConfigMap; set secrets.postgresDSN or put postgres-dsn in secrets.existingSecret" }}
{{- end }}
{{- if hasKey (default dict $cfg.scim) "tokens" }}
{{- fail "config.scim.tokens must not be set: the chart builds it from secrets.scimTokens" }}
{{- end }}
{{- $gkey := include "scim-bridge.googleKey" . }}
{{- $google := default dict .Values.google }}
{{- if $gkey }}
{{- if $google.existingSecret }}
{{- fail "set secrets.googleServiceAccountKey or google.existingSecret, not both" }}
{{- end }}
{{- if .Values.secrets.existingSecret }}
{{- fail "secrets.googleServiceAccountKey is not used with secrets.existingSecret (the chart creates no Secret then): put the key in a Secret (it may be the existing one) and set google.existingSecret and google.existingSecretKey" }}
{{- end }}
{{- $parsed := fromJson $gkey }}
{{- if or (hasKey $parsed "Error") (ne (toString (get $parsed "type")) "service_account") (not (get $parsed "client_email")) (not (get $parsed "private_key")) }}
{{- fail "secrets.googleServiceAccountKey is not a Google service account JSON key (a JSON object with type service_account, client_email and private_key, as downloaded from the Google Cloud console; not base64-encoded)" }}
{{- end }}
{{- end }}
{{- if include "scim-bridge.googleEnabled" . }}
{{- if hasKey $cfg.google "credentialsFile" }}
{{- fail "config.google.credentialsFile must not be set: the chart mounts the service account key from secrets.googleServiceAccountKey or google.existingSecret and sets it" }}
{{- end }}
{{- if not (or $gkey $google.existingSecret) }}
{{- fail "config.google needs the service account key: set secrets.googleServiceAccountKey (the JSON key, e.g. --set-file secrets.googleServiceAccountKey=key.json) or google.existingSecret" }}
{{- end }}
{{- if and $google.existingSecret (not $google.existingSecretKey) }}
{{- fail "google.existingSecretKey must name the key of the JSON key in google.existingSecret" }}
{{- end }}
{{- end }}
{{- $console := default dict $cfg.console }}
{{- if hasKey $console "tokens" }}
{{- fail "config.console.tokens must not be set: the chart builds it from secrets.consoleTokens" }}
{{- end }}
{{- if or (hasKey $console "sessionKey") (hasKey $console "sessionKeyFile") }}
{{- fail "config.console.sessionKey must not be set: it would be stored in a ConfigMap; set secrets.consoleSessionKey" }}
{{- end }}
{{- if $console.enabled }}
{{- if not (or .Values.secrets.consoleTokens (default dict $console.forwardAuth).enabled) }}
{{- fail "config.console.enabled needs a way to sign in: set secrets.consoleTokens (admin tokens) or config.console.forwardAuth.enabled behind an authenticating proxy" }}
{{- end }}
{{- if and .Values.secrets.consoleTokens (gt (int .Values.replicaCount) 1) (not .Values.secrets.consoleSessionKey) (not .Values.secrets.existingSecret) }}
{{- fail "secrets.consoleSessionKey is required with console admin tokens and more than one replica: every pod must sign sessions with the same key" }}
{{- end }}
{{- end }}
{{- $cnames := dict }}
{{- range .Values.secrets.consoleTokens }}
{{- if hasKey $cnames .name }}
{{- fail (printf "secrets.consoleTokens: duplicate name %q (each token is its own key console-token-<name>.sha256 in the Secret)" .name) }}
{{- end }}
{{- $_ := set $cnames .name true }}
{{- end }}
{{- $names := dict }}
{{- range .Values.secrets.scimTokens }}
{{- if hasKey $names .name }}
{{- fail (printf "secrets.scimTokens: duplicate name %q (each token is its own key scim-token-<name>.sha256 in the Secret)" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- end }}

{{/*
Where the ConfigMap, the Secret and the Google service account key are
mounted and the data directory lives. The ConfigMap is mounted as a
directory (no subPath) so the kubelet's updates reach the file the bridge
watches; nothing else is mounted inside it.
*/}}
{{- define "scim-bridge.configDir" -}}/etc/scim-bridge{{- end }}
{{- define "scim-bridge.configFile" -}}/etc/scim-bridge/config.yaml{{- end }}
{{- define "scim-bridge.secretDir" -}}/run/secrets/scim-bridge{{- end }}
{{- define "scim-bridge.googleDir" -}}/run/secrets/scim-bridge-google{{- end }}
{{- define "scim-bridge.googleFile" -}}service-account.json{{- end }}
{{- define "scim-bridge.dataDir" -}}/var/lib/scim-bridge{{- end }}

{{/*
"true" when the bridge config has a Google Workspace source.
*/}}
{{- define "scim-bridge.googleEnabled" -}}
{{- $cfg := default dict .Values.config }}
{{- if and (hasKey $cfg "google") (kindIs "map" $cfg.google) }}true{{ end }}
{{- end }}

{{/*
secrets.googleServiceAccountKey as JSON text, also when it was given as a
YAML mapping (a JSON key pasted into values.yaml unquoted).
*/}}
{{- define "scim-bridge.googleKey" -}}
{{- $k := .Values.secrets.googleServiceAccountKey }}
{{- if kindIs "map" $k }}{{ toJson $k }}{{ else }}{{ default "" $k }}{{ end }}
{{- end }}

{{/*
The Secret, and its key, holding the Google service account key.
*/}}
{{- define "scim-bridge.googleSecretName" -}}
{{- default (include "scim-bridge.fullname" .) (default dict .Values.google).existingSecret }}
{{- end }}
{{- define "scim-bridge.googleSecretKey" -}}
{{- $google := default dict .Values.google }}
{{- if $google.existingSecret }}{{ $google.existingSecretKey }}{{ else }}google-service-account-key.json{{ end }}
{{- end }}

{{/*
The bridge configuration file: values.config with the settings the chart
owns (listen addresses, secret file paths, SQLite path) laid over it; the
listeners' limits (listen.maxHeaderBytes, maxConnections) are the values'.
*/}}
{{- define "scim-bridge.config" -}}
{{- $cfg := deepCopy (default dict .Values.config) }}
{{- $secretDir := include "scim-bridge.secretDir" . }}
{{- $tokens := list }}
{{- range .Values.secrets.scimTokens }}
{{- $tokens = append $tokens (dict "name" .name "sha256File" (printf "%s/scim-token-%s.sha256" $secretDir .name)) }}
{{- end }}
{{- $scim := mergeOverwrite (default dict $cfg.scim) (dict "tokens" $tokens) }}
{{- $gainsight := mergeOverwrite (default dict $cfg.gainsight) (dict "accessKeyFile" (printf "%s/gainsight-access-key" $secretDir)) }}
{{- $store := default dict $cfg.store }}
{{- $storeType := include "scim-bridge.storeType" . }}
{{- $_ := set $store "type" $storeType }}
{{- if eq $storeType "postgres" }}
{{- $_ := set $store "postgres" (mergeOverwrite (default dict $store.postgres) (dict "dsnFile" (printf "%s/postgres-dsn" $secretDir))) }}
{{- else }}
{{- $_ := set $store "sqlite" (mergeOverwrite (default dict $store.sqlite) (dict "path" (printf "%s/scim-bridge.db" (include "scim-bridge.dataDir" .)))) }}
{{- end }}
{{- $listen := mergeOverwrite (default dict $cfg.listen) (dict "scim" (printf "0.0.0.0:%d" (int .Values.containerPorts.http)) "admin" (printf "0.0.0.0:%d" (int .Values.containerPorts.admin))) }}
{{- $console := default dict $cfg.console }}
{{- $ctokens := list }}
{{- range .Values.secrets.consoleTokens }}
{{- $ctokens = append $ctokens (dict "name" .name "sha256File" (printf "%s/console-token-%s.sha256" $secretDir .name)) }}
{{- end }}
{{- if $ctokens }}
{{- $_ := set $console "tokens" $ctokens }}
{{- end }}
{{- if .Values.secrets.consoleSessionKey }}
{{- $_ := set $console "sessionKeyFile" (printf "%s/console-session-key" $secretDir) }}
{{- end }}
{{- if $console }}
{{- $_ := set $cfg "console" $console }}
{{- end }}
{{- $_ := set $cfg "listen" $listen }}
{{- $_ := set $cfg "scim" $scim }}
{{- $_ := set $cfg "gainsight" $gainsight }}
{{- $_ := set $cfg "store" $store }}
{{- if include "scim-bridge.googleEnabled" . }}
{{- $_ := set $cfg "google" (mergeOverwrite $cfg.google (dict "credentialsFile" (printf "%s/%s" (include "scim-bridge.googleDir" .) (include "scim-bridge.googleFile" .)))) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
The SCIM base path the IdP appends resource names to.
*/}}
{{- define "scim-bridge.basePath" -}}
{{- $scim := default dict .Values.config.scim }}
{{- default "/scim/v2" $scim.basePath }}
{{- end }}

{{/*
A Kubernetes memory quantity (`256Mi`, `0.5Gi`, `512M`, bytes) in bytes.
*/}}
{{- define "scim-bridge.memoryBytes" -}}
{{- if kindIs "string" . }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $units := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 }}
{{- $suffix := trimPrefix $num . }}
{{- if or (not $num) (not (hasKey $units $suffix)) }}
{{- fail (printf "resources.limits.memory %q: write the limit as a number with an optional Ki, Mi, Gi, Ti, Pi, k, M, G, T or P suffix" .) }}
{{- end }}
{{- mulf $num (get $units $suffix) | floor | int64 }}
{{- else }}
{{- int64 . }}
{{- end }}
{{- end }}

{{/*
GOMEMLIMIT in bytes: 90% of the container's memory limit, empty without
one. The pure-Go SQLite keeps its page cache outside the Go heap, which the
Go collector does not count; the headroom keeps the container below its
limit. Empty as well when extraEnv sets GOMEMLIMIT itself.
*/}}
{{- define "scim-bridge.goMemLimit" -}}
{{- $limits := default dict (default dict .Values.resources).limits }}
{{- $own := false }}
{{- range .Values.extraEnv }}
{{- if eq .name "GOMEMLIMIT" }}{{ $own = true }}{{ end }}
{{- end }}
{{- if and $limits.memory (not $own) }}
{{- $bytes := include "scim-bridge.memoryBytes" $limits.memory | int64 }}
{{- div (mul $bytes 9) 10 }}
{{- end }}
{{- end }}

{{/*
A duration (`90s`, `5m`, `1h30m`, `1d`; units ms, s, m, h, d, w) in whole
seconds, empty when it is not one.
*/}}
{{- define "scim-bridge.seconds" -}}
{{- $s := toString . }}
{{- if regexMatch "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+$" $s }}
{{- $units := dict "ms" 0.001 "s" 1 "m" 60 "h" 3600 "d" 86400 "w" 604800 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)" $s -1 }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $total = addf $total (mulf $num (get $units (trimPrefix $num .))) }}
{{- end }}
{{- $total | floor | int64 }}
{{- end }}
{{- end }}

{{/*
The age in seconds of the last successful Google poll at which
ScimBridgeGoogleSyncStale fires: prometheusRule.googleStaleAfter, or an
hour or three poll intervals, whichever is longer. A threshold not above
the poll interval would fire between two good polls, so it is refused.
*/}}
{{- define "scim-bridge.googleStaleAfterSeconds" -}}
{{- $after := .Values.prometheusRule.googleStaleAfter }}
{{- $interval := int64 0 }}
{{- if include "scim-bridge.googleEnabled" . }}
{{- with .Values.config.google.interval }}
{{- $interval = include "scim-bridge.seconds" . | default "0" | int64 }}
{{- end }}
{{- end }}
{{- if $after }}
{{- $s := include "scim-bridge.seconds" $after }}
{{- if not $s }}
{{- fail (printf "prometheusRule.googleStaleAfter %q is not a duration such as 90m, 2h or 1d" $after) }}
{{- end }}
{{- if and $interval (le (int64 $s) $interval) }}
{{- fail (printf "prometheusRule.googleStaleAfter %s must be longer than config.google.interval %s, or ScimBridgeGoogleSyncStale fires between two good polls" $after .Values.config.google.interval) }}
{{- end }}
{{- $s }}
{{- else }}
{{- max 3600 (mul 3 $interval) }}
{{- end }}
{{- end }}

{{/*
The settings of the bridge config a running bridge cannot reload (see
restartOnly in bridge/reload.go): a change to one of them must restart the
pods. Everything else (tokens, group profiles, mapping, defaults, licenses,
roles, custom fields, deprovision, sync.mode and sync.guard) the bridge
applies from the mounted file.
*/}}
{{- define "scim-bridge.restartConfig" -}}
{{- $cfg := include "scim-bridge.config" . | fromYaml }}
{{- $out := dict }}
{{- range list "listen" "store" "gainsight" "google" "log" }}
{{- $_ := set $out . (get $cfg .) }}
{{- end }}
{{- /* sync.mode and sync.guard are reloaded without a restart. */}}
{{- $_ := set $out "sync" (omit (default dict $cfg.sync) "mode" "guard") }}
{{- $_ := set $out "scim" (omit (default dict $cfg.scim) "tokens") }}
{{- toJson $out }}
{{- end }}

{{/*
The chart's Secret values the bridge reads only at start: the Gainsight
access key, the PostgreSQL DSN and the Google key (token hashes it
reloads).
*/}}
{{- define "scim-bridge.restartSecrets" -}}
{{- toJson (list .Values.secrets.gainsightAccessKey .Values.secrets.postgresDSN (include "scim-bridge.googleKey" .)) }}
{{- end }}

{{/*
Pod annotations that roll the pods when helm upgrade changes what they
must restart for (rollOnConfigChange).
*/}}
{{- define "scim-bridge.checksums" -}}
{{- $mode := .Values.rollOnConfigChange }}
{{- if eq $mode "restartOnly" }}
checksum/config: {{ include "scim-bridge.restartConfig" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include "scim-bridge.restartSecrets" . | sha256sum }}
{{- end }}
{{- else if eq $mode "always" }}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}
{{- end }}
