{{/* Chart name, overridable. */}}
{{- define "mic.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects. */}}
{{- define "mic.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "mic.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "mic.labels" -}}
app.kubernetes.io/name: {{ include "mic.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aad-pod-identity
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Pod selector labels; app/component must match the MIC AzurePodIdentityException. */}}
{{- define "mic.selectorLabels" -}}
app: mic
component: mic
app.kubernetes.io/component: mic
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* ServiceAccount name. */}}
{{- define "mic.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mic.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Namespace of the leader-election locks (Endpoints and Lease): upstream MIC's "default" unless set. */}}
{{- define "mic.leaseNamespace" -}}
{{- default "default" .Values.mic.leaderElection.namespace -}}
{{- end -}}
