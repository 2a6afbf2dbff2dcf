package charts

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	googleDir      = "/run/secrets/scim-bridge-google"
	googleKeyFile  = googleDir + "/service-account.json"
	googleKeyInSet = "google-service-account-key.json" // key in the chart's Secret
	// fakeServiceAccountKey is shaped like a Google service account JSON key.
	fakeServiceAccountKey = `{"type":"service_account","project_id":"acme-idm","private_key_id":"0123","private_key":"-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n","client_email":"scim-bridge@acme-idm.iam.gserviceaccount.com","client_id":"104857600000000000000","token_uri":"https://oauth2.googleapis.com/token"}`
)

// googleSection is a config.google a user would write: everything except
// the credentials file, which the chart owns.
func googleSection() map[string]any {
	return map[string]any{"subject": "it-admin@acme.example", "customer": "my_customer", "scope": "orgUnits", "orgUnits": []any{"/Sales"}}
}

// checkGoogle checks how the pod gets the Google service account key: with
// a google section the key is a read-only file from secretName/secretKey
// and the config points at it; without one nothing is mounted.
func checkGoogle(t *testing.T, dep *appsv1.Deployment, cfg renderedConfig, secretName, secretKey string) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	var mount *corev1.VolumeMount
	for i, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath == googleDir {
			mount = &pod.Containers[0].VolumeMounts[i]
		}
	}
	if secretName == "" {
		if mount != nil || cfg.Google.CredentialsFile != "" {
			t.Errorf("no google section, yet mount %+v and credentialsFile %q", mount, cfg.Google.CredentialsFile)
		}
		return
	}
	if cfg.Google.CredentialsFile != googleKeyFile {
		t.Errorf("google.credentialsFile = %q, want %q", cfg.Google.CredentialsFile, googleKeyFile)
	}
	if mount == nil || !mount.ReadOnly || mount.SubPath != "" {
		t.Fatalf("google key mount = %+v, want a read-only directory mount at %s", mount, googleDir)
	}
	var vol *corev1.Volume
	for i, v := range pod.Volumes {
		if v.Name == mount.Name {
			vol = &pod.Volumes[i]
		}
	}
	if vol == nil || vol.Secret == nil {
		t.Fatalf("google key volume = %+v, want a Secret volume", vol)
	}
	s := vol.Secret
	if s.SecretName != secretName || len(s.Items) != 1 || s.Items[0].Key != secretKey || s.Items[0].Path != "service-account.json" {
		t.Errorf("google key volume = %+v, want key %s of Secret %s as service-account.json", s, secretKey, secretName)
	}
	if s.Optional != nil && *s.Optional {
		t.Errorf("google key volume is optional: a missing key must stop the pod, not the first poll")
	}
}

func TestGoogleCredentials(t *testing.T) {
	var keyAsMapping map[string]any
	if err := json.Unmarshal([]byte(fakeServiceAccountKey), &keyAsMapping); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		files      []string
		overrides  map[string]any
		secretName string // Secret the key comes from, empty for none
		secretKey  string
		chartKey   bool // the chart's own Secret holds the key
	}{
		{
			name:      "no google section",
			overrides: map[string]any{},
		},
		{
			name:       "key in the chart's Secret",
			overrides:  map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": fakeServiceAccountKey},
			secretName: "sb-scim-bridge", secretKey: googleKeyInSet, chartKey: true,
		},
		{
			name:       "key pasted as a YAML mapping",
			overrides:  map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": keyAsMapping},
			secretName: "sb-scim-bridge", secretKey: googleKeyInSet, chartKey: true,
		},
		{
			name:       "existing Secret",
			overrides:  map[string]any{"config.google": googleSection(), "google.existingSecret": "google-sa", "google.existingSecretKey": "key.json"},
			secretName: "google-sa", secretKey: "key.json",
		},
		{
			name:       "existing Secret shared with the other credentials",
			files:      []string{"ci/existing-secret-values.yaml"},
			overrides:  map[string]any{"config.google": googleSection(), "google.existingSecret": "scim-bridge-credentials"},
			secretName: "scim-bridge-credentials", secretKey: googleKeyInSet,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if files == nil {
				files = []string{minimalValues}
			}
			r := mustRender(t, "sb", files, tt.overrides)
			var cfg renderedConfig
			if err := yamlUnmarshal(only[*corev1.ConfigMap](t, r.objs).Data["config.yaml"], &cfg); err != nil {
				t.Fatal(err)
			}
			dep := only[*appsv1.Deployment](t, r.objs)
			checkGoogle(t, dep, cfg, tt.secretName, tt.secretKey)

			secrets := all[*corev1.Secret](r.objs)
			var stored []byte
			if len(secrets) == 1 {
				stored = secrets[0].Data[googleKeyInSet]
			}
			if !tt.chartKey {
				if stored != nil {
					t.Errorf("chart Secret holds a Google key: %s", stored)
				}
			} else {
				var key struct {
					Type       string `json:"type"`
					PrivateKey string `json:"private_key"`
				}
				if err := json.Unmarshal(stored, &key); err != nil || key.Type != "service_account" || !strings.Contains(key.PrivateKey, "\n") {
					t.Errorf("chart Secret's Google key = %q (%v), want the service account JSON", stored, err)
				}
			}
			if wantNotes := tt.secretName != ""; strings.Contains(r.notes, "google-check") != wantNotes {
				t.Errorf("NOTES mention google-check = %v, want %v:\n%s", !wantNotes, wantNotes, r.notes)
			}
		})
	}
}

// TestGoogleKeyRotationRollsPods checks that a new key in the chart's
// Secret restarts the pods: the bridge reads the key file once, at start.
func TestGoogleKeyRotationRollsPods(t *testing.T) {
	sum := func(key string) string {
		r := mustRender(t, "sb", []string{minimalValues}, map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": key})
		return only[*appsv1.Deployment](t, r.objs).Spec.Template.Annotations["checksum/secret"]
	}
	rotated := strings.Replace(fakeServiceAccountKey, `"private_key_id":"0123"`, `"private_key_id":"4567"`, 1)
	if a, b := sum(fakeServiceAccountKey), sum(rotated); a == "" || a == b {
		t.Errorf("checksum/secret %q → %q, want a change", a, b)
	}
}

func TestGoogleCredentialsRefused(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		overrides map[string]any
		wantErr   string
	}{
		{"google without a key", []string{minimalValues}, map[string]any{"config.google": googleSection()}, "config.google needs the service account key"},
		{"credentials file by hand", []string{minimalValues}, map[string]any{"config.google": mergeMaps(googleSection(), map[string]any{"credentialsFile": "/keys/sa.json"}), "secrets.googleServiceAccountKey": fakeServiceAccountKey}, "config.google.credentialsFile must not be set"},
		{"two key sources", []string{minimalValues}, map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": fakeServiceAccountKey, "google.existingSecret": "google-sa"}, "not both"},
		{"key with an existing Secret", []string{"ci/existing-secret-values.yaml"}, map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": fakeServiceAccountKey}, "google.existingSecret"},
		{"not JSON", []string{minimalValues}, map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": "c2VjcmV0LWtleQ=="}, "not a Google service account JSON key"},
		{"not a service account", []string{minimalValues}, map[string]any{"config.google": googleSection(), "secrets.googleServiceAccountKey": `{"type":"authorized_user","client_secret":"s3cret"}`}, "not a Google service account JSON key"},
		{"empty secret key name", []string{minimalValues}, map[string]any{"config.google": googleSection(), "google.existingSecret": "google-sa", "google.existingSecretKey": ""}, "existingSecretKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, "sb", tt.files, tt.overrides)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("render error = %v, want one mentioning %q", err, tt.wantErr)
			}
			for _, secret := range []string{"s3cret", "c2VjcmV0LWtleQ==", "PRIVATE KEY"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("render error quotes the key: %v", err)
				}
			}
		})
	}
}
