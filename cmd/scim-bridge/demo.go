package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/internal/demo"
)

// demoTenant is the small Gainsight tenant the demo simulates: two users
// already exist, so adoption (linking instead of duplicating) shows on the
// first push of either.
func demoTenant(accessKey string) gainsighttest.Tenant {
	t := demo.Tenant(accessKey)
	t.Users = []map[string]any{
		{"FirstName": "Ada", "LastName": "Lovelace", "Name": "Ada Lovelace", "Email": "ada@example.com",
			"SFDCUserName": "ada@example.com", "LicenseType": "Full", "SystemType": "Internal", "IsActiveUser": true},
		{"FirstName": "Grace", "LastName": "Hopper", "Name": "Grace Hopper", "Email": "grace@example.com",
			"SFDCUserName": "grace@example.com", "LicenseType": "Viewer", "SystemType": "Internal", "IsActiveUser": true},
	}
	return t
}

// demoConfigYAML is the configuration the demo runs with: the defaults,
// the simulator as Gainsight, a temporary SQLite file and the demo's
// group profiles (demo.ProfilesYAML).
const demoConfigYAML = `# The demo's configuration. The bridge reloads it when it changes: for
# instance sync.mode, shadow or live. It is removed when the demo stops.
listen: {admin: "127.0.0.1:0"}
scim:
  tokens: [{name: demo, sha256: %[1]s}]
# The console takes the demo's bearer token as its admin token.
console:
  enabled: true
  tokens: [{name: demo, sha256: %[1]s}]
gainsight: {baseURL: %[2]q, accessKey: %[3]q}
store: {type: sqlite, sqlite: {path: %[4]q}}
sync:
  batchWindow: 1s
  minBackoff: 5s
  mode: %[5]s
` + demo.ProfilesYAML

// demoConfig writes the demo's configuration file into dir and loads it;
// the bridge watches the file, so an edit (going live from shadow mode)
// applies while the demo runs.
func demoConfig(dir, simURL, accessKey, tokenHash string, shadow bool) (*config.Config, string, error) {
	mode := config.ModeLive
	if shadow {
		mode = config.ModeShadow
	}
	path := filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf(demoConfigYAML, tokenHash, simURL, accessKey, filepath.Join(dir, "scim-bridge.db"), mode)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return nil, "", fmt.Errorf("demo config: %w", err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, "", fmt.Errorf("demo config: %w", err)
	}
	return cfg, path, nil
}

// demoOptions are the --demo flags.
type demoOptions struct {
	listen, adminListen string
	// token is the bearer token to accept; empty means a random one.
	token string
	// shadow starts the bridge in shadow mode.
	shadow bool
}

func runDemo(ctx context.Context, d demoOptions, e env) error {
	dir, err := os.MkdirTemp("", "scim-bridge-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	token := d.token
	if token == "" {
		if token, err = randomToken(); err != nil {
			return err
		}
	}
	accessKey, err := randomToken()
	if err != nil {
		return err
	}

	simLog, err := newLogger("warn", e)
	if err != nil {
		return err
	}
	sim := gainsighttest.New(demoTenant(accessKey), gainsighttest.WithLogger(simLog.Named("gainsight-sim")))
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: simulator listener: %w", err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(simLog)}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	simURL := "http://" + simLn.Addr().String()

	cfg, path, err := demoConfig(dir, simURL, accessKey, config.HashToken(token), d.shadow)
	if err != nil {
		return err
	}
	scimLn, err := listenOrAny(d.listen)
	if err != nil {
		return fmt.Errorf("demo: scim listener: %w", err)
	}
	adminLn, err := listenOrAny(d.adminListen)
	if err != nil {
		scimLn.Close()
		return fmt.Errorf("demo: admin listener: %w", err)
	}
	ready := e.ready
	e.ready = func(base, admin string) {
		printDemoBanner(e, demoBanner{base: base, admin: admin, token: token, simURL: simURL, accessKey: accessKey, groups: cfg.Groups,
			config: path, shadow: d.shadow})
		if ready != nil {
			ready(base, admin)
		}
	}
	err = serve(ctx, cfg, path, listeners{scim: scimLn, admin: adminLn}, e)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// listenOrAny listens on addr or, when that port is taken, on any free
// port of 127.0.0.1: for a demo any port will do.
func listenOrAny(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// demoBanner is what the demo tells the user once it is serving.
type demoBanner struct {
	base, admin, token, simURL, accessKey string
	groups                                []config.GroupProfile
	// config is the demo's config file; shadow, the bridge runs in
	// shadow mode.
	config string
	shadow bool
}

// demoGroup is the profiled group the banner's group command pushes.
const demoGroup = "Dept Sales"

func printDemoBanner(e env, b demoBanner) {
	fmt.Fprintf(e.stdout, `
gainsight-scim-bridge demo is running (Ctrl-C to stop; nothing is kept).

  SCIM base URL   %[1]s
  Bearer token    %[2]s
  Admin           %[5]s   (/metrics, /healthz, /readyz, /admin/users/{user}/explain)
  Console         %[5]s/ui/   (sign in with the bearer token)
  Gainsight sim   %[3]s   (access key %[4]s)
  Config          %[6]s   (reloaded when it changes)
`, b.base, b.token, b.simURL, b.accessKey, b.admin, b.config)
	for i, g := range b.groups {
		label := "                "
		if i == 0 {
			label = "  Group profiles"
		}
		fmt.Fprintf(e.stdout, "%s  %q: %s\n", label, g.DisplayName, describeProfile(g))
	}
	fmt.Fprintf(e.stdout, `
Create a user (its SCIM id is kept in $USER_ID for the group command):

  USER_ID=$(curl -s -X POST %[1]s/Users \
    -H 'Authorization: Bearer %[2]s' \
    -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alan@example.com","name":{"givenName":"Alan","familyName":"Turing"},"emails":[{"value":"alan@example.com","type":"work","primary":true}],"active":true}' \
    | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'); echo "user $USER_ID"

Then watch it reach Gainsight (about a second later):

  curl -s -H 'accesskey: %[4]s' %[3]s/_sim/users

Push the group %[6]q with the user in it; its profile gives the user its
attributes (pushing "Dept Support" as well is refused: the two disagree):

  curl -s -X POST %[1]s/Groups \
    -H 'Authorization: Bearer %[2]s' \
    -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%[6]q,"members":[{"value":"'"$USER_ID"'"}]}'

See its effective attributes, where each came from, and its sync state
(the demo's store is a temporary file, so this admin endpoint is how
"scim-bridge explain" is done here):

  curl -s -H 'Authorization: Bearer %[2]s' %[5]s/admin/users/alan@example.com/explain

`, b.base, b.token, b.simURL, b.accessKey, b.admin, demoGroup)
	if b.shadow {
		fmt.Fprintf(e.stdout, `The bridge runs in shadow mode: it plans every change and writes nothing
to Gainsight. Read the plan (or the console's Plan page):

  curl -s -H 'Authorization: Bearer %[1]s' %[2]s/admin/plan

Then go live: the bridge reloads its config within seconds and sends what
it planned.

  sed -i 's/mode: shadow/mode: live/' %[3]s

`, b.token, b.admin, b.config)
	}
}

// describeProfile summarises what a group profile gives its members.
func describeProfile(g config.GroupProfile) string {
	var parts []string
	if g.SuperAdmin != nil && *g.SuperAdmin {
		parts = append(parts, "super admin")
	}
	if g.LicenseType != "" {
		parts = append(parts, "license "+g.LicenseType)
	}
	if len(g.Roles) > 0 {
		parts = append(parts, "roles "+strings.Join(g.Roles, ", "))
	}
	names := make([]string, 0, len(g.Fields))
	for name := range g.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		parts = append(parts, name+" "+formatValue(g.Fields[name]))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
