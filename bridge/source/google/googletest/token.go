package googletest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ServiceAccountClientID is the client_id of keys written by
// WriteServiceAccountKey.
const ServiceAccountClientID = "104200000000000000001"

// TokenServer is a fake OAuth 2.0 token endpoint for service-account JWT
// grants. It is an http.Handler; its methods are safe for concurrent use.
type TokenServer struct {
	mu     sync.Mutex
	errors []string
	claims []map[string]any
}

// Start serves the endpoint on 127.0.0.1 until the test ends and returns
// its URL (the token_uri to put in a key).
func (ts *TokenServer) Start(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(ts)
	tb.Cleanup(srv.Close)
	return srv.URL + "/token"
}

// Fail makes the next token request fail with an OAuth error code, such
// as unauthorized_client (no domain-wide delegation) or invalid_grant.
func (ts *TokenServer) Fail(code string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.errors = append(ts.errors, code)
}

// Claims returns the claims of every JWT assertion received.
func (ts *TokenServer) Claims() []map[string]any {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]map[string]any(nil), ts.claims...)
}

// ServeHTTP answers a jwt-bearer grant with an access token, or with the
// next queued error.
func (ts *TokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeOAuthError(w, "unsupported_grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	var claims map[string]any
	if len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(raw, &claims)
		}
	}
	ts.mu.Lock()
	ts.claims = append(ts.claims, claims)
	var code string
	if len(ts.errors) > 0 {
		code, ts.errors = ts.errors[0], ts.errors[1:]
	}
	ts.mu.Unlock()
	if claims == nil {
		writeOAuthError(w, "invalid_request")
		return
	}
	if code != "" {
		writeOAuthError(w, code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 3600})
}

func writeOAuthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."})
}

// WriteServiceAccountKey writes a service account key file with a fresh
// RSA key whose token_uri is tokenURL into dir, and returns its path.
func WriteServiceAccountKey(tb testing.TB, dir, tokenURL string) string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     "scim-bridge-test",
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "scim-bridge@scim-bridge-test.iam.gserviceaccount.com",
		"client_id":      ServiceAccountClientID,
		"token_uri":      tokenURL,
	}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "service-account.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
