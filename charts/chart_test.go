package charts

import (
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	configPath = "/etc/scim-bridge/config.yaml"
	configDir  = "/etc/scim-bridge"
	secretDir  = "/run/secrets/scim-bridge"
	dataDir    = "/var/lib/scim-bridge"
)

// chartCase is one values file and what the chart must render for it.
type chartCase struct {
	file         string // under scim-bridge/, empty for defaults
	kinds        []string
	replicas     int32
	strategy     appsv1.DeploymentStrategyType
	storeType    string
	secretName   string // Secret the pod mounts
	claimName    string // PVC the pod mounts, empty for an emptyDir
	tokens       []string
	notesContain []string
	notesLack    []string
	// googleSecret is the Secret the Google service account key is mounted
	// from, empty without a google section; the chart's own Secret holds it
	// under googleKeyInSet.
	googleSecret string
}

// minimalValues is the smallest values file the chart renders: the secrets
// it cannot do without.
const minimalValues = "ci/minimal-values.yaml"

var chartCases = []chartCase{
	{
		file:         minimalValues,
		kinds:        []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"},
		replicas:     1,
		strategy:     appsv1.RecreateDeploymentStrategyType,
		storeType:    "sqlite",
		secretName:   "sb-scim-bridge",
		claimName:    "sb-scim-bridge",
		tokens:       []string{"idp"},
		notesContain: []string{"http://sb-scim-bridge.idm.svc:8080/scim/v2", "WARNING: config.gainsight.baseURL is the example tenant"},
	},
	{
		file:       "ci/shadow-values.yaml",
		kinds:      []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"},
		replicas:   1,
		strategy:   appsv1.RecreateDeploymentStrategyType,
		storeType:  "sqlite",
		secretName: "sb-scim-bridge",
		claimName:  "sb-scim-bridge",
		tokens:     []string{"okta"},
		notesContain: []string{"http://sb-scim-bridge.idm.svc:8080/scim/v2", "Shadow mode: the bridge plans every change",
			"/scim-bridge plan --config /etc/scim-bridge/config.yaml", "--set config.sync.mode=live"},
		notesLack: []string{"sync.guard.enabled is false"},
	},
	{
		file:         "ci/sqlite-values.yaml",
		kinds:        []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"},
		replicas:     1,
		strategy:     appsv1.RecreateDeploymentStrategyType,
		storeType:    "sqlite",
		secretName:   "sb-scim-bridge",
		claimName:    "sb-scim-bridge",
		tokens:       []string{"okta"},
		notesContain: []string{"http://sb-scim-bridge.idm.svc:8080/scim/v2", "tokens: okta"},
		notesLack:    []string{"config.gainsight.baseURL"},
	},
	{
		file:         "ci/postgres-values.yaml",
		kinds:        []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"},
		replicas:     3,
		strategy:     appsv1.RollingUpdateDeploymentStrategyType,
		storeType:    "postgres",
		secretName:   "sb-scim-bridge",
		tokens:       []string{"onelogin", "onelogin-next"},
		notesContain: []string{"store: postgres, replicas: 3"},
	},
	{
		file:       "ci/monitoring-values.yaml",
		kinds:      []string{"ConfigMap", "Deployment", "NetworkPolicy", "PersistentVolumeClaim", "PrometheusRule", "Secret", "Service", "ServiceAccount", "ServiceMonitor"},
		replicas:   1,
		strategy:   appsv1.RecreateDeploymentStrategyType,
		storeType:  "sqlite",
		secretName: "sb-scim-bridge",
		claimName:  "sb-scim-bridge",
		tokens:     []string{"idp"},
	},
	{
		file:         "ci/existing-secret-values.yaml",
		kinds:        []string{"ConfigMap", "Deployment", "Service", "ServiceAccount"},
		replicas:     1,
		strategy:     appsv1.RecreateDeploymentStrategyType,
		storeType:    "sqlite",
		secretName:   "scim-bridge-credentials",
		claimName:    "scim-bridge-data",
		tokens:       []string{"jumpcloud"},
		notesContain: []string{"Secret scim-bridge-credentials"},
	},
	{
		file:         "ci/ingress-values.yaml",
		kinds:        []string{"ConfigMap", "Deployment", "Ingress", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"},
		replicas:     1,
		strategy:     appsv1.RecreateDeploymentStrategyType,
		storeType:    "sqlite",
		secretName:   "sb-scim-bridge",
		claimName:    "sb-scim-bridge",
		tokens:       []string{"idp"},
		notesContain: []string{"https://scim.acme.example/scim/v2"},
	},
	{
		file:         "ci/google-values.yaml",
		kinds:        []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"},
		replicas:     1,
		strategy:     appsv1.RecreateDeploymentStrategyType,
		storeType:    "sqlite",
		secretName:   "sb-scim-bridge",
		claimName:    "sb-scim-bridge",
		tokens:       []string{"admin"},
		notesContain: []string{"exec deploy/sb-scim-bridge -- /scim-bridge google-check --config " + configPath},
		googleSecret: "sb-scim-bridge",
	},
}

func TestChartCasesCoverEveryCIValuesFile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var covered []string
	for _, c := range chartCases {
		if c.file != "" {
			covered = append(covered, filepath.Join(chartDir, c.file))
		}
	}
	sort.Strings(covered)
	if !slices.Equal(files, covered) {
		t.Fatalf("ci values files %v, table covers %v", files, covered)
	}
}

func TestChartRenders(t *testing.T) {
	for _, tc := range chartCases {
		name := tc.file
		if name == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) {
			var files []string
			if tc.file != "" {
				files = []string{tc.file}
			}
			r := mustRender(t, "sb", files, nil)
			if got := r.kinds(); !slices.Equal(got, tc.kinds) {
				t.Errorf("kinds = %v, want %v", got, tc.kinds)
			}
			dep := only[*appsv1.Deployment](t, r.objs)
			if got := ptrString(dep.Spec.Replicas); got != ptrString(&tc.replicas) {
				t.Errorf("replicas = %s, want %d", got, tc.replicas)
			}
			if dep.Spec.Strategy.Type != tc.strategy {
				t.Errorf("strategy = %s, want %s", dep.Spec.Strategy.Type, tc.strategy)
			}
			checkPodHardening(t, dep)
			checkProbesAndPorts(t, dep)
			checkService(t, only[*corev1.Service](t, r.objs), dep)
			checkVolumes(t, dep, tc)
			cfg := checkConfig(t, r, tc)
			checkSecret(t, r, tc, cfg)
			checkGoogle(t, dep, cfg, tc.googleSecret, googleKeyInSet)
			for _, s := range tc.notesContain {
				if !strings.Contains(r.notes, s) {
					t.Errorf("NOTES lack %q:\n%s", s, r.notes)
				}
			}
			for _, s := range tc.notesLack {
				if strings.Contains(r.notes, s) {
					t.Errorf("NOTES mention %q:\n%s", s, r.notes)
				}
			}
			for _, pdb := range all[*policyv1.PodDisruptionBudget](r.objs) {
				if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PDB maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
				}
				if !mapsEqual(pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) {
					t.Errorf("PDB selector %v, Deployment selector %v", pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels)
				}
			}
			for _, sm := range all[*monitoringv1.ServiceMonitor](r.objs) {
				checkServiceMonitor(t, sm, only[*corev1.Service](t, r.objs))
			}
			for _, ing := range all[*networkingv1.Ingress](r.objs) {
				checkIngress(t, ing)
			}
			for _, np := range all[*networkingv1.NetworkPolicy](r.objs) {
				checkNetworkPolicy(t, np, dep)
			}
		})
	}
}

func checkPodHardening(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod runAsNonRoot not set: %+v", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccomp profile is not RuntimeDefault: %+v", psc)
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod runs as root: %+v", psc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("service account token is mounted")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatalf("container has no security context")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("root filesystem is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("privilege escalation allowed")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("container runAsNonRoot not set")
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("container is privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities = %+v, want drop [ALL]", sc.Capabilities)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources incomplete: %+v", c.Resources)
	}
	if c.Image != "ghcr.io/gainsight-scim-bridge/scim-bridge:0.1.0" {
		t.Errorf("image = %q", c.Image)
	}
	if got := strings.Join(c.Args, " "); got != "serve --config "+configPath {
		t.Errorf("args = %q", got)
	}
	sum := dep.Spec.Template.Annotations["checksum/config"]
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sum) {
		t.Errorf("checksum/config annotation = %q", sum)
	}
}

func checkProbesAndPorts(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if !mapsEqual(ports, map[string]int32{"http": 8080, "admin": 9090}) {
		t.Errorf("container ports = %v", ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startup", c.StartupProbe, "/healthz"},
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe missing or not HTTP", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe = %s on %s, want %s on admin", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
	// The admin listener opens after the store is open and migrated: the
	// startup probe gives that minutes, not the liveness probe's seconds.
	if sp := c.StartupProbe; sp != nil {
		if budget := sp.FailureThreshold * sp.PeriodSeconds; budget < 120 {
			t.Errorf("startup probe allows %ds to start, want at least 120s", budget)
		}
	}
	if lp := c.LivenessProbe; lp != nil && lp.InitialDelaySeconds > 0 {
		t.Errorf("liveness probe waits %ds: the startup probe covers start-up", lp.InitialDelaySeconds)
	}
}

func checkService(t *testing.T, svc *corev1.Service, dep *appsv1.Deployment) {
	t.Helper()
	got := map[string]string{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = p.TargetPort.String()
	}
	if !mapsEqual(got, map[string]string{"http": "http", "admin": "admin"}) {
		t.Errorf("service ports = %v", got)
	}
	if !mapsEqual(svc.Spec.Selector, dep.Spec.Selector.MatchLabels) {
		t.Errorf("service selector %v, deployment selector %v", svc.Spec.Selector, dep.Spec.Selector.MatchLabels)
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("pod label %s = %q, selector wants %q", k, dep.Spec.Template.Labels[k], v)
		}
	}
}

func checkVolumes(t *testing.T, dep *appsv1.Deployment, tc chartCase) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	// A subPath mount is a copy the kubelet never updates: the bridge would
	// not see ConfigMap or Secret changes. Nothing may be mounted inside the
	// config directory either: the kubelet owns that volume's content.
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			t.Errorf("mount %s uses subPath %q%s", m.MountPath, m.SubPath, m.SubPathExpr)
		}
		if strings.HasPrefix(m.MountPath, configDir+"/") {
			t.Errorf("mount %s is inside the config directory %s", m.MountPath, configDir)
		}
	}
	if filepath.Dir(configPath) != configDir {
		t.Fatalf("config file %s is not in the mounted directory %s", configPath, configDir)
	}
	for _, want := range []struct {
		path, volume string
		readOnly     bool
	}{
		{configDir, "config", true},
		{secretDir, "secrets", true},
		{dataDir, "data", false},
		{"/tmp", "tmp", false},
	} {
		m, ok := mounts[want.path]
		if !ok || m.Name != want.volume || m.ReadOnly != want.readOnly {
			t.Errorf("mount %s = %+v, want volume %s readOnly %v", want.path, m, want.volume, want.readOnly)
		}
	}
	if s := vols["secrets"].Secret; s == nil || s.SecretName != tc.secretName {
		t.Errorf("secret volume = %+v, want secret %s", vols["secrets"], tc.secretName)
	}
	if tmp := vols["tmp"].EmptyDir; tmp == nil {
		t.Errorf("/tmp is not an emptyDir")
	}
	data := vols["data"]
	switch {
	case tc.claimName == "" && data.EmptyDir == nil:
		t.Errorf("data volume = %+v, want emptyDir", data)
	case tc.claimName != "" && (data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != tc.claimName):
		t.Errorf("data volume = %+v, want claim %s", data, tc.claimName)
	}
}

// renderedConfig is the part of the bridge config the chart owns.
type renderedConfig struct {
	Listen struct {
		SCIM  string `yaml:"scim"`
		Admin string `yaml:"admin"`
	} `yaml:"listen"`
	SCIM struct {
		BasePath string `yaml:"basePath"`
		Tokens   []struct {
			Name       string `yaml:"name"`
			SHA256File string `yaml:"sha256File"`
		} `yaml:"tokens"`
	} `yaml:"scim"`
	Gainsight struct {
		AccessKeyFile string `yaml:"accessKeyFile"`
	} `yaml:"gainsight"`
	Console struct {
		Tokens []struct {
			Name       string `yaml:"name"`
			SHA256File string `yaml:"sha256File"`
		} `yaml:"tokens"`
		SessionKeyFile string `yaml:"sessionKeyFile"`
	} `yaml:"console"`
	Google struct {
		CredentialsFile string `yaml:"credentialsFile"`
	} `yaml:"google"`
	Store struct {
		Type   string `yaml:"type"`
		SQLite struct {
			Path string `yaml:"path"`
		} `yaml:"sqlite"`
		Postgres struct {
			DSNFile string `yaml:"dsnFile"`
		} `yaml:"postgres"`
	} `yaml:"store"`
}

func checkConfig(t *testing.T, r *rendering, tc chartCase) renderedConfig {
	t.Helper()
	cm := only[*corev1.ConfigMap](t, r.objs)
	raw, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap has no config.yaml: %v", cm.Data)
	}
	var tree any
	if err := yaml.Unmarshal([]byte(raw), &tree); err != nil {
		t.Fatalf("config.yaml is not YAML: %v\n%s", err, raw)
	}
	for _, err := range checkAgainstConfigSchema(t, tree) {
		t.Errorf("config.yaml: %v", err)
	}
	var cfg renderedConfig
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.SCIM != "0.0.0.0:8080" || cfg.Listen.Admin != "0.0.0.0:9090" {
		t.Errorf("listen = %+v", cfg.Listen)
	}
	if cfg.SCIM.BasePath != "/scim/v2" {
		t.Errorf("scim.basePath = %q", cfg.SCIM.BasePath)
	}
	var names []string
	for _, tok := range cfg.SCIM.Tokens {
		names = append(names, tok.Name)
		if want := secretDir + "/scim-token-" + tok.Name + ".sha256"; tok.SHA256File != want {
			t.Errorf("token %s sha256File = %q, want %q", tok.Name, tok.SHA256File, want)
		}
	}
	if !slices.Equal(names, tc.tokens) {
		t.Errorf("tokens = %v, want %v", names, tc.tokens)
	}
	if cfg.Gainsight.AccessKeyFile != secretDir+"/gainsight-access-key" {
		t.Errorf("gainsight.accessKeyFile = %q", cfg.Gainsight.AccessKeyFile)
	}
	if cfg.Store.Type != tc.storeType {
		t.Errorf("store.type = %q, want %q", cfg.Store.Type, tc.storeType)
	}
	switch tc.storeType {
	case "sqlite":
		if cfg.Store.SQLite.Path != dataDir+"/scim-bridge.db" || cfg.Store.Postgres.DSNFile != "" {
			t.Errorf("store = %+v", cfg.Store)
		}
	case "postgres":
		if cfg.Store.Postgres.DSNFile != secretDir+"/postgres-dsn" || cfg.Store.SQLite.Path != "" {
			t.Errorf("store = %+v", cfg.Store)
		}
	}
	return cfg
}

// checkSecret checks that a chart-made Secret holds exactly the files the
// config points at.
func checkSecret(t *testing.T, r *rendering, tc chartCase, cfg renderedConfig) {
	t.Helper()
	secrets := all[*corev1.Secret](r.objs)
	if len(secrets) == 0 {
		return
	}
	s := secrets[0]
	if s.Name != tc.secretName {
		t.Errorf("Secret name = %q, want %q", s.Name, tc.secretName)
	}
	var want []string
	for _, f := range []string{cfg.Gainsight.AccessKeyFile, cfg.Store.Postgres.DSNFile, cfg.Console.SessionKeyFile} {
		if f != "" {
			want = append(want, strings.TrimPrefix(f, secretDir+"/"))
		}
	}
	for _, tok := range cfg.SCIM.Tokens {
		want = append(want, strings.TrimPrefix(tok.SHA256File, secretDir+"/"))
	}
	for _, tok := range cfg.Console.Tokens {
		want = append(want, strings.TrimPrefix(tok.SHA256File, secretDir+"/"))
	}
	if tc.googleSecret == s.Name {
		want = append(want, googleKeyInSet)
	}
	var got []string
	for k := range s.Data {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("Secret keys = %v, want %v", got, want)
	}
}

func checkServiceMonitor(t *testing.T, sm *monitoringv1.ServiceMonitor, svc *corev1.Service) {
	t.Helper()
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints = %+v", sm.Spec.Endpoints)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, Service has %q", k, v, svc.Labels[k])
		}
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor additional labels missing: %v", sm.Labels)
	}
}

func checkIngress(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "scim.acme.example" {
		t.Fatalf("ingress rules = %+v", ing.Spec.Rules)
	}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		if p.Backend.Service == nil || p.Backend.Service.Port.Name != "http" {
			t.Errorf("ingress path %s backend = %+v, want the http port", p.Path, p.Backend)
		}
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "scim-bridge-tls" {
		t.Errorf("ingress tls = %+v", ing.Spec.TLS)
	}
}

func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy, dep *appsv1.Deployment) {
	t.Helper()
	if !mapsEqual(np.Spec.PodSelector.MatchLabels, dep.Spec.Selector.MatchLabels) {
		t.Errorf("NetworkPolicy selects %v", np.Spec.PodSelector.MatchLabels)
	}
	ports := map[string]int{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			ports[p.Port.String()] = len(rule.From)
		}
	}
	// SCIM open to all sources, admin only from the monitoring namespace.
	if !mapsEqual(ports, map[string]int{"http": 0, "admin": 1}) {
		t.Errorf("NetworkPolicy ingress ports→peers = %v", ports)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) != 1 {
		t.Errorf("NetworkPolicy egress = %v %+v", np.Spec.PolicyTypes, np.Spec.Egress)
	}
	// DNS falls back to TCP for answers over 512 bytes (and some resolvers
	// use TCP only), so an egress policy must allow port 53 on both.
	egress := map[string]bool{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			egress[p.Port.String()+"/"+string(proto)] = true
		}
	}
	for _, want := range []string{"53/UDP", "53/TCP", "443/TCP"} {
		if !egress[want] {
			t.Errorf("NetworkPolicy egress lacks %s: %v", want, egress)
		}
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// TestChecksumAnnotationsRollOnlyForRestarts checks rollOnConfigChange:
// by default the pods roll only for changes the bridge cannot reload (it
// reloads the mounted ConfigMap and token files itself, and a needless roll
// of a SQLite pod is a SCIM outage); "always" rolls on any change; "never"
// sets no checksum.
func TestChecksumAnnotationsRollOnlyForRestarts(t *testing.T) {
	profile := map[string]any{"config.groups": []any{map[string]any{"name": "admins", "displayName": "Admins", "superAdmin": true}}}
	tokenAdded := map[string]any{"secrets.scimTokens": []any{
		map[string]any{"name": "idp", "sha256": strings.Repeat("ab", 32)},
		map[string]any{"name": "next", "sha256": strings.Repeat("cd", 32)},
	}}
	tests := []struct {
		name          string
		mode          string
		overrides     map[string]any
		configChanges bool
		secretChanges bool
	}{
		{"log level", "restartOnly", map[string]any{"config.log.level": "debug"}, true, false},
		{"gainsight timeout", "restartOnly", map[string]any{"config.gainsight.timeout": "10s"}, true, false},
		{"external URL", "restartOnly", map[string]any{"config.scim.externalURL": "https://scim.example.com/scim/v2"}, true, false},
		{"admin port", "restartOnly", map[string]any{"containerPorts.admin": 9091}, true, false},
		{"group profile", "restartOnly", profile, false, false},
		{"mapping", "restartOnly", map[string]any{"config.mapping.fields": []any{map[string]any{"scim": "title", "gainsight": "Title"}}}, false, false},
		{"token added", "restartOnly", tokenAdded, false, false},
		{"access key", "restartOnly", map[string]any{"secrets.gainsightAccessKey": "rotated"}, false, true},
		{"pod label only", "restartOnly", map[string]any{"podLabels.team": "identity"}, false, false},
		{"group profile, always", "always", profile, true, false},
		{"token added, always", "always", tokenAdded, true, true},
		{"access key, always", "always", map[string]any{"secrets.gainsightAccessKey": "rotated"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := map[string]any{"rollOnConfigChange": tt.mode}
			before := only[*appsv1.Deployment](t, mustRender(t, "sb", []string{minimalValues}, mode).objs).Spec.Template.Annotations
			after := only[*appsv1.Deployment](t, mustRender(t, "sb", []string{minimalValues}, mergeMaps(mode, tt.overrides)).objs).Spec.Template.Annotations
			for _, a := range []struct {
				key    string
				change bool
			}{{"checksum/config", tt.configChanges}, {"checksum/secret", tt.secretChanges}} {
				if before[a.key] == "" || after[a.key] == "" {
					t.Fatalf("%s missing: before %q after %q", a.key, before[a.key], after[a.key])
				}
				if changed := before[a.key] != after[a.key]; changed != a.change {
					t.Errorf("%s changed = %v, want %v", a.key, changed, a.change)
				}
			}
		})
	}
	never := only[*appsv1.Deployment](t, mustRender(t, "sb", []string{minimalValues}, map[string]any{"rollOnConfigChange": "never"}).objs)
	for k := range never.Spec.Template.Annotations {
		if strings.HasPrefix(k, "checksum/") {
			t.Errorf("rollOnConfigChange never still sets %s", k)
		}
	}
	existing := only[*appsv1.Deployment](t, mustRender(t, "sb", []string{"ci/existing-secret-values.yaml"}, nil).objs)
	if _, ok := existing.Spec.Template.Annotations["checksum/secret"]; ok {
		t.Errorf("checksum/secret set for an existing Secret the chart cannot see")
	}
	if _, err := render(t, "sb", []string{minimalValues}, map[string]any{"rollOnConfigChange": "sometimes"}); err == nil || !strings.Contains(err.Error(), "rollOnConfigChange") {
		t.Errorf("an unknown rollOnConfigChange renders: %v", err)
	}
}

// TestRestartChecksumCoversWhatTheBridgeCannotReload reads the sections the
// bridge reports as needing a restart (restartOnly in bridge/reload.go) and
// checks that a change to each rolls the pods, so the chart's list cannot
// fall behind the bridge's.
func TestRestartChecksumCoversWhatTheBridgeCannotReload(t *testing.T) {
	src := string(readRepoFile(t, "bridge/reload.go"))
	start := strings.Index(src, "func restartOnly(")
	if start < 0 {
		t.Fatal("bridge/reload.go has no restartOnly")
	}
	body := src[start:]
	body = body[:strings.Index(body, "\n}\n")]
	var sections []string
	for _, m := range regexp.MustCompile(`append\(out, "([a-zA-Z]+)"\)`).FindAllStringSubmatch(body, -1) {
		sections = append(sections, m[1])
	}
	// One change per section, to a setting of it the chart lets through.
	change := map[string]struct {
		files     []string
		overrides map[string]any
	}{
		"listen":    {nil, map[string]any{"containerPorts.http": 8081}},
		"store":     {[]string{"ci/postgres-values.yaml"}, map[string]any{"config.store.postgres.maxConns": 7}},
		"gainsight": {nil, map[string]any{"config.gainsight.budget.perHour": 50}},
		"sync":      {nil, map[string]any{"config.sync.batchWindow": "5s"}},
		"google":    {[]string{"ci/google-values.yaml"}, map[string]any{"config.google.interval": "10m"}},
		"log":       {nil, map[string]any{"config.log.level": "warn"}},
		"scim":      {nil, map[string]any{"config.scim.maxBodyBytes": 2097152}},
	}
	var known []string
	for k := range change {
		known = append(known, k)
	}
	sort.Strings(known)
	sort.Strings(sections)
	if !slices.Equal(sections, known) {
		t.Fatalf("restartOnly lists %v, this test and the chart's scim-bridge.restartConfig know %v", sections, known)
	}
	for _, section := range sections {
		t.Run(section, func(t *testing.T) {
			c := change[section]
			files := append([]string{minimalValues}, c.files...)
			before := only[*appsv1.Deployment](t, mustRender(t, "sb", files, nil).objs).Spec.Template.Annotations["checksum/config"]
			after := only[*appsv1.Deployment](t, mustRender(t, "sb", files, c.overrides).objs).Spec.Template.Annotations["checksum/config"]
			if before == "" || before == after {
				t.Errorf("checksum/config %q → %q: a %s change does not roll the pods", before, after, section)
			}
		})
	}
}

// TestRolloutSettingsReloadWithoutARestart: sync.mode and sync.guard are
// reloaded by the bridge, so changing them (going live from shadow mode)
// does not roll the pods, while another sync setting does.
func TestRolloutSettingsReloadWithoutARestart(t *testing.T) {
	checksum := func(overrides map[string]any) string {
		return only[*appsv1.Deployment](t, mustRender(t, "sb", []string{minimalValues}, overrides).objs).Spec.Template.Annotations["checksum/config"]
	}
	base := checksum(nil)
	for _, o := range []map[string]any{
		{"config.sync.mode": "shadow"},
		{"config.sync.guard.maxUsers": 500},
		{"config.sync.guard.enabled": false},
	} {
		if got := checksum(o); got != base {
			t.Errorf("%v rolls the pods (checksum %s → %s); the bridge reloads it", o, base, got)
		}
	}
	if checksum(map[string]any{"config.sync.lease": "10m"}) == base {
		t.Error("a change of sync.lease does not roll the pods")
	}
	off := mustRender(t, "sb", []string{minimalValues}, map[string]any{"config.sync.guard.enabled": false}).notes
	if !strings.Contains(off, "WARNING: sync.guard.enabled is false") {
		t.Errorf("NOTES without a warning for a disabled guard:\n%s", off)
	}
}

// TestChartRequiresSecrets checks that the chart refuses to render a Secret
// the bridge would refuse at start (an empty access key, token hash or DSN
// file) instead of a pod that crash-loops.
func TestChartRequiresSecrets(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		overrides map[string]any
		wantErr   string
	}{
		{"bare defaults", nil, nil, "secrets.gainsightAccessKey is required"},
		{"no token hash", nil, map[string]any{"secrets.gainsightAccessKey": "k"}, "secrets.scimTokens[idp].sha256 is required"},
		{"postgres without a DSN", []string{minimalValues}, map[string]any{"config.store.type": "postgres"}, "secrets.postgresDSN is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, "sb", tt.files, tt.overrides)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("render error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
	// With an existing Secret the chart cannot see the values and must not
	// ask for them.
	mustRender(t, "sb", []string{"ci/existing-secret-values.yaml"}, map[string]any{"config.store.type": "postgres", "replicaCount": 2})
}

func TestChartRefusesInvalidValues(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		overrides map[string]any
		wantErr   string
	}{
		{"sqlite with two replicas", []string{minimalValues}, map[string]any{"replicaCount": 2}, "sqlite supports exactly one replica"},
		{"sqlite set explicitly with three replicas", []string{"ci/sqlite-values.yaml"}, map[string]any{"replicaCount": 3}, "sqlite supports exactly one replica"},
		{"unknown store", []string{minimalValues}, map[string]any{"config.store.type": "mysql"}, "/config/store/type"},
		{"zero replicas", []string{minimalValues}, map[string]any{"replicaCount": 0}, "replicaCount"},
		{"replicas as text", []string{minimalValues}, map[string]any{"replicaCount": "three"}, "replicaCount"},
		{"misspelt top-level value", []string{minimalValues}, map[string]any{"replicas": 2}, "replicas"},
		{"misspelt config section", []string{minimalValues}, map[string]any{"config.group": []any{}}, "group"},
		{"misspelt config key", []string{minimalValues}, map[string]any{"config.gainsight.baseUrl": "https://acme.gainsightcloud.com"}, "baseUrl"},
		{"misspelt profile key", []string{minimalValues}, map[string]any{"config.groups": []any{map[string]any{"displayName": "A", "licence": "Full"}}}, "licence"},
		{"unknown API dialect", []string{minimalValues}, map[string]any{"config.gainsight.api": "soap"}, "/config/gainsight/api"},
		{"duration as a number", []string{minimalValues}, map[string]any{"config.sync.reconcileInterval": 0}, "/config/sync/reconcileInterval"},
		{"token hash not hex", []string{minimalValues}, map[string]any{"secrets.scimTokens": []any{map[string]any{"name": "idp", "sha256": "secret-token"}}}, "sha256"},
		{"port out of range", []string{minimalValues}, map[string]any{"containerPorts.http": 70000}, "http"},
		{"access key in the ConfigMap", []string{minimalValues}, map[string]any{"config.gainsight.accessKey": "plain-text-key"}, "config.gainsight.accessKey must not be set"},
		{"DSN in the ConfigMap", []string{"ci/postgres-values.yaml"}, map[string]any{"config.store.postgres.dsn": "postgres://u:pw@db/x"}, "config.store.postgres.dsn must not be set"},
		{"tokens in the config", []string{minimalValues}, map[string]any{"config.scim.tokens": []any{map[string]any{"name": "okta", "sha256": strings.Repeat("ab", 32)}}}, "config.scim.tokens must not be set"},
		{"duplicate token names", []string{minimalValues}, map[string]any{"secrets.scimTokens": []any{map[string]any{"name": "idp", "sha256": strings.Repeat("ab", 32)}, map[string]any{"name": "idp", "sha256": strings.Repeat("cd", 32)}}}, `duplicate name "idp"`},
		{"console tokens in the config", []string{minimalValues}, map[string]any{"config.console.tokens": []any{map[string]any{"name": "ops", "sha256": strings.Repeat("ab", 32)}}}, "config.console.tokens must not be set"},
		{"console session key in the config", []string{minimalValues}, map[string]any{"config.console.sessionKey": strings.Repeat("k", 40)}, "config.console.sessionKey must not be set"},
		{"console without a sign-in", []string{minimalValues}, map[string]any{"config.console.enabled": true}, "config.console.enabled needs a way to sign in"},
		{"console replicas without a session key", []string{"ci/postgres-values.yaml"}, map[string]any{"config.console.enabled": true, "replicaCount": 2, "secrets.consoleSessionKey": "",
			"secrets.consoleTokens": []any{map[string]any{"name": "ops", "sha256": strings.Repeat("ab", 32)}}}, "secrets.consoleSessionKey is required"},
		{"console session key too short", []string{minimalValues}, map[string]any{"secrets.consoleSessionKey": "short"}, "consoleSessionKey"},
		{"duplicate console token names", []string{minimalValues}, map[string]any{"secrets.consoleTokens": []any{map[string]any{"name": "ops", "sha256": strings.Repeat("ab", 32)}, map[string]any{"name": "ops", "sha256": strings.Repeat("cd", 32)}}}, `duplicate name "ops"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, "sb", tt.files, tt.overrides)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("render error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestPodDisruptionBudgetOnlyWithReplicas(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		wantPDB   bool
	}{
		{"one replica", map[string]any{"replicaCount": 1}, false},
		{"two replicas", map[string]any{"replicaCount": 2}, true},
		{"two replicas, disabled", map[string]any{"replicaCount": 2, "podDisruptionBudget.enabled": false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRender(t, "sb", []string{"ci/postgres-values.yaml"}, tt.overrides)
			if got := len(all[*policyv1.PodDisruptionBudget](r.objs)) == 1; got != tt.wantPDB {
				t.Errorf("PDB rendered = %v, want %v", got, tt.wantPDB)
			}
		})
	}
}

func TestPrometheusRuleEqualsDeployRules(t *testing.T) {
	deployRules := readRepoFile(t, "deploy/prometheus/rules.yaml")
	chartCopy := readRepoFile(t, "charts/scim-bridge/files/prometheus-rules.yaml")
	if string(deployRules) != string(chartCopy) {
		t.Fatalf("charts/scim-bridge/files/prometheus-rules.yaml differs from deploy/prometheus/rules.yaml; copy it over")
	}
	var want monitoringv1.PrometheusRuleSpec
	if err := sigsyaml.UnmarshalStrict(deployRules, &want); err != nil {
		t.Fatalf("deploy/prometheus/rules.yaml: %v", err)
	}
	r := mustRender(t, "sb", []string{"ci/monitoring-values.yaml"}, nil)
	got := only[*monitoringv1.PrometheusRule](t, r.objs)
	gotJSON, err := sigsyaml.Marshal(got.Spec)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := sigsyaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("PrometheusRule spec differs from deploy/prometheus/rules.yaml:\n--- chart\n%s\n--- deploy\n%s", gotJSON, wantJSON)
	}
	if len(want.Groups) == 0 || len(want.Groups[0].Rules) < 7 {
		t.Errorf("rules.yaml has too few rules: %+v", want.Groups)
	}
}

// TestConsoleValues: the chart builds the console's admin tokens and
// session key into the config as files of its Secret, never inline.
func TestConsoleValues(t *testing.T) {
	r := mustRender(t, "sb", []string{"ci/postgres-values.yaml"}, nil)
	cm := only[*corev1.ConfigMap](t, r.objs)
	var cfg struct {
		Console struct {
			Enabled bool `yaml:"enabled"`
			Tokens  []struct {
				Name       string `yaml:"name"`
				SHA256     string `yaml:"sha256"`
				SHA256File string `yaml:"sha256File"`
			} `yaml:"tokens"`
			SessionKey     string `yaml:"sessionKey"`
			SessionKeyFile string `yaml:"sessionKeyFile"`
		} `yaml:"console"`
		Audit struct {
			MaxRows int `yaml:"maxRows"`
		} `yaml:"audit"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	c := cfg.Console
	if !c.Enabled || len(c.Tokens) != 1 || c.Tokens[0].Name != "it-oncall" || c.Tokens[0].SHA256 != "" ||
		c.Tokens[0].SHA256File != secretDir+"/console-token-it-oncall.sha256" ||
		c.SessionKey != "" || c.SessionKeyFile != secretDir+"/console-session-key" || cfg.Audit.MaxRows != 200000 {
		t.Errorf("console config %+v, audit %+v", c, cfg.Audit)
	}
	sec := only[*corev1.Secret](t, r.objs)
	if got := string(sec.Data["console-token-it-oncall.sha256"]); got != "a9d84ca4b60462a39626acf157039a271b8e6ffd9ac3c858a5603805217b5be4" {
		t.Errorf("Secret console token %q", got)
	}
	if got := string(sec.Data["console-session-key"]); got != "a-console-session-key-shared-by-the-replicas" {
		t.Errorf("Secret session key %q", got)
	}
	if strings.Contains(cm.Data["config.yaml"], "a-console-session-key") {
		t.Errorf("the session key is in the ConfigMap")
	}
}
