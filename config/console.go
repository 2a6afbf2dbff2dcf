package config

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Audit configures the audit trail: every Gainsight write and every change
// of intent, per user, kept for Retention and at most MaxRows rows.
type Audit struct {
	// Retention is how long entries are kept; 0 keeps them for ever
	// (default 90 days, 2160h).
	Retention time.Duration `yaml:"retention"`
	// MaxRows bounds the trail's size; the oldest entries beyond it are
	// pruned. 0 means no bound (default 1000000).
	MaxRows int `yaml:"maxRows"`
	// PruneInterval is how often a replica prunes (default 10m); replicas
	// sharing a database prune once per interval between them.
	PruneInterval time.Duration `yaml:"pruneInterval"`
	// RecordPersonalData records the old and new values of personal fields
	// (email, names, phone, user name and the PersonalFields); by default
	// they are recorded as changed, without values.
	RecordPersonalData bool `yaml:"recordPersonalData"`
	// PersonalFields names further Gainsight fields (custom fields such as
	// an employee number) treated as personal.
	PersonalFields []string `yaml:"personalFields"`
}

// Console configures the operator console, served under /ui/ on the admin
// listener. It is off by default and only starts with a way to sign in:
// admin tokens, or a trusted authenticating proxy (forwardAuth).
type Console struct {
	Enabled bool `yaml:"enabled"`
	// Tokens are the admin tokens, hashed like the SCIM tokens; each needs
	// a name, which the audit trail records for the admin's actions.
	Tokens []Token `yaml:"tokens"`
	// ForwardAuth trusts a user header set by an authenticating proxy in
	// front of the console (oauth2-proxy).
	ForwardAuth ForwardAuth `yaml:"forwardAuth"`
	// SessionKey signs the console's session cookies (at least 32
	// characters). Replicas behind one Service need the same key; without
	// one each process makes its own and sessions end on restart.
	SessionKey     Secret `yaml:"sessionKey"`
	SessionKeyFile string `yaml:"sessionKeyFile"`
	// SessionTTL is how long a sign-in lasts (default 8h).
	SessionTTL time.Duration `yaml:"sessionTTL"`
}

// ForwardAuth is the console's proxy sign-in: a request from one of
// TrustedProxies carrying UserHeader is signed in as that user.
type ForwardAuth struct {
	Enabled bool `yaml:"enabled"`
	// UserHeader names the authenticated user (default X-Forwarded-User,
	// which oauth2-proxy sets; X-Forwarded-Email and X-Auth-Request-Email
	// are common too).
	UserHeader string `yaml:"userHeader"`
	// TrustedProxies are the addresses or CIDR ranges the proxy connects
	// from (default 127.0.0.1/32 and ::1/128: a sidecar). The header of
	// any other peer is ignored.
	TrustedProxies []string `yaml:"trustedProxies"`
}

// Defaults of the audit trail and the console.
const (
	DefaultAuditRetention     = 90 * 24 * time.Hour
	DefaultAuditMaxRows       = 1000000
	DefaultAuditPruneInterval = 10 * time.Minute
	DefaultSessionTTL         = 8 * time.Hour
	DefaultForwardAuthHeader  = "X-Forwarded-User"
	// MinSessionKeyLength is the shortest session key accepted.
	MinSessionKeyLength = 32
)

func defaultAudit() Audit {
	return Audit{Retention: DefaultAuditRetention, MaxRows: DefaultAuditMaxRows, PruneInterval: DefaultAuditPruneInterval}
}

func defaultConsole() Console {
	return Console{
		SessionTTL: DefaultSessionTTL,
		ForwardAuth: ForwardAuth{
			UserHeader:     DefaultForwardAuthHeader,
			TrustedProxies: []string{"127.0.0.1/32", "::1/128"},
		},
	}
}

// TrustedPrefixes returns TrustedProxies as prefixes (a bare address is a
// single-address prefix); entries that do not parse are left out
// (Validate reports them).
func (f ForwardAuth) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range f.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *Config) validateAuditAndConsole(ch *checker) {
	a := c.Audit
	checkNotNegative(ch, "audit.retention", a.Retention)
	if a.MaxRows < 0 {
		ch.add("audit.maxRows", "must not be negative, got %d", a.MaxRows)
	}
	checkPositive(ch, "audit.pruneInterval", a.PruneInterval)
	checkList(ch, "audit.personalFields", a.PersonalFields, "field")

	k := c.Console
	checkTokens(ch, "console.tokens", k.Tokens, true)
	if k.Enabled && len(k.Tokens) == 0 && !k.ForwardAuth.Enabled {
		ch.add("console.enabled", "needs a way to sign in: console.tokens or console.forwardAuth.enabled")
	}
	if k.SessionKey != "" && len(k.SessionKey) < MinSessionKeyLength {
		ch.add("console.sessionKey", "must be at least %d characters, got %d", MinSessionKeyLength, len(k.SessionKey))
	}
	checkPositive(ch, "console.sessionTTL", k.SessionTTL)
	f := k.ForwardAuth
	if f.Enabled {
		if f.UserHeader == "" || http.CanonicalHeaderKey(f.UserHeader) == "" || strings.ContainsAny(f.UserHeader, " :\t") {
			ch.add("console.forwardAuth.userHeader", "must be an HTTP header name, got %q", f.UserHeader)
		}
		if len(f.TrustedProxies) == 0 {
			ch.add("console.forwardAuth.trustedProxies", "at least one address or CIDR range is required")
		}
	}
	for i, s := range f.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			ch.add(fmt.Sprintf("console.forwardAuth.trustedProxies[%d]", i), "%q is not an IP address or CIDR range", s)
		}
	}
}
