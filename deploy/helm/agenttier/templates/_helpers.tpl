{{- define "agenttier.labels" -}}
app.kubernetes.io/name: agenttier
app.kubernetes.io/part-of: agenttier
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels; the router's must match the NetworkPolicy every sandbox gets (name + component). */}}
{{- define "agenttier.selector" -}}
app.kubernetes.io/name: agenttier
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "agenttier.image" -}}
{{- $ := .root -}}
{{- if .image -}}{{ .image }}{{- else -}}{{ printf "%s/%s:%s" $.Values.global.registry .name $.Values.global.tag }}{{- end -}}
{{- end -}}

{{- define "agenttier.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agenttier.scheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A label map as k=v,k2=v2 (sorted), for environment variables. */}}
{{- define "agenttier.labelList" -}}
{{- $out := list -}}
{{- range $k, $v := . }}{{ $out = append $out (printf "%s=%s" $k $v) }}{{- end -}}
{{- join "," $out -}}
{{- end -}}
