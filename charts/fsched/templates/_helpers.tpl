{{/* Names and labels shared by every object of the chart. */}}

{{- define "fsched.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fsched.masterName" -}}{{ include "fsched.fullname" . | trunc 56 | trimSuffix "-" }}-master{{- end -}}
{{- define "fsched.workerName" -}}{{ include "fsched.fullname" . | trunc 56 | trimSuffix "-" }}-worker{{- end -}}

{{- define "fsched.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "fsched.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fsched.image" -}}
{{- $root := index . 0 -}}{{- $image := index . 1 -}}
{{- printf "%s%s:%s" $root.Values.image.registry $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "fsched.tokenSecretName" -}}
{{- default (printf "%s-join-token" (include "fsched.fullname" .)) .Values.existingJoinTokenSecret -}}
{{- end -}}

{{- define "fsched.adminTokenSecretName" -}}
{{- default (printf "%s-admin-token" (include "fsched.fullname" .)) .Values.existingAdminTokenSecret -}}
{{- end -}}

{{- define "fsched.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "fsched.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{/* The master's address inside the cluster, for workers and clients. */}}
{{- define "fsched.masterAddress" -}}
{{- printf "%s.%s.svc:%d" (include "fsched.masterName" .) .Release.Namespace (int .Values.master.grpcPort) -}}
{{- end -}}

{{/* The tls: block of a node's fsched config. */}}
{{- define "fsched.tlsConfig" -}}
{{- if .Values.tls.enabled -}}
{{- dict "cert" "/etc/fsched/tls/tls.crt" "key" "/etc/fsched/tls/tls.key" "ca" "/etc/fsched/tls/ca.crt" "require_client_cert" .Values.tls.requireClientCert "server_name" .Values.tls.serverName | toYaml -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* Whether the master serves its HTTP entry (HTTPS with tls.enabled, docs/http.md). */}}
{{- define "fsched.httpEnabled" -}}
{{- gt (int .Values.master.httpPort) 0 -}}
{{- end -}}

{{/* The same for each worker's own entry (worker.httpPort, off by default). */}}
{{- define "fsched.workerHttpEnabled" -}}
{{- gt (int .Values.worker.httpPort) 0 -}}
{{- end -}}

{{/* fsched config of the master: the chart's settings, then `config`, then `master.config`. */}}
{{- define "fsched.masterConfig" -}}
{{- $base := dict
    "architecture" .Values.architecture
    "log_level" .Values.logLevel
    "node" (dict "id" "master" "role" "master" "zone" "default")
    "listen" (printf "0.0.0.0:%d" (int .Values.master.grpcPort))
    "advertise_address" (include "fsched.masterAddress" .)
    "state_dir" "/var/lib/fsched"
    "cluster" (dict "join_token_file" "/etc/fsched/join-token/join-token")
    "auth" (dict "admin_token_file" "/etc/fsched/admin-token/admin-token")
    "metrics" (dict "listen" (printf "0.0.0.0:%d" (int .Values.master.metricsPort)))
    "tls" (include "fsched.tlsConfig" . | fromYaml) -}}
{{- if eq (include "fsched.httpEnabled" .) "true" -}}
{{- $_ := set $base "http" (dict "listen" (printf "0.0.0.0:%d" (int .Values.master.httpPort))) -}}
{{- end -}}
{{- $merged := mustMergeOverwrite $base (deepCopy .Values.config) (deepCopy .Values.master.config) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* fsched config of each worker (node id and advertised address come from flags). */}}
{{- define "fsched.workerConfig" -}}
{{- $worker := dict
    "master" (include "fsched.masterAddress" .)
    "slots" (int .Values.worker.slots)
    "resctrl" (ternary "auto" "off" .Values.worker.cat.enabled)
    "resctrl_root" .Values.worker.cat.resctrlPath
    "default_group_ways" (int .Values.worker.cat.defaultGroupWays)
    "runc" .Values.worker.runc
    "containerd" (ternary "auto" "off" .Values.worker.containerd.enabled)
    "containerd_address" .Values.worker.containerd.socket
    "containerd_namespace" .Values.worker.containerd.namespace -}}
{{- $base := dict
    "architecture" .Values.architecture
    "log_level" .Values.logLevel
    "node" (dict "role" "worker" "zone" .Values.worker.zone)
    "listen" (printf "0.0.0.0:%d" (int .Values.worker.grpcPort))
    "state_dir" "/var/lib/fsched"
    "cluster" (dict "join_token_file" "/etc/fsched/join-token/join-token")
    "worker" $worker
    "metrics" (dict "listen" (printf "0.0.0.0:%d" (int .Values.worker.metricsPort)))
    "tls" (include "fsched.tlsConfig" . | fromYaml) -}}
{{- if eq (include "fsched.workerHttpEnabled" .) "true" -}}
{{- $_ := set $base "http" (dict "listen" (printf "0.0.0.0:%d" (int .Values.worker.httpPort))) -}}
{{- end -}}
{{- $merged := mustMergeOverwrite $base (deepCopy .Values.config) (deepCopy .Values.worker.config) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* Readiness and liveness: gRPC health where the kubelet can speak it (plain
     TCP); with TLS the kubelet's gRPC probe cannot verify, so a TCP check. */}}
{{- define "fsched.probes" -}}
{{- $port := index . 1 -}}{{- $root := index . 0 -}}
readinessProbe:
  {{- if $root.Values.tls.enabled }}
  tcpSocket:
    port: {{ $port }}
  {{- else }}
  grpc:
    port: {{ $port }}
  {{- end }}
  periodSeconds: 5
  failureThreshold: 3
livenessProbe:
  {{- if $root.Values.tls.enabled }}
  tcpSocket:
    port: {{ $port }}
  {{- else }}
  grpc:
    port: {{ $port }}
  {{- end }}
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 6
{{- end -}}
