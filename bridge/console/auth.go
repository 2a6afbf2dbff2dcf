package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Sign-in. An operator signs in with an admin token: the token is checked
// against the configured hashes and never stored; the browser gets a
// session cookie (HttpOnly, SameSite=Strict, Path /ui/) holding the
// token's name, a prefix of its hash, an expiry and a random session id,
// signed with HMAC-SHA256. Removing or rotating the token ends its
// sessions. Behind an authenticating proxy (forwardAuth) the proxy's user
// header is believed from the trusted proxy addresses only. Every POST
// carries a CSRF token derived from the session.

const (
	sessionCookie = "scim_bridge_console"
	loginCookie   = "scim_bridge_console_login"
	csrfField     = "csrf"
)

// principal is the signed-in operator.
type principal struct {
	name string
	// via is "token" or "proxy".
	via string
	// seed is what the CSRF token is derived from.
	seed string
}

type authedHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// authed serves h to signed-in operators: GET requests of others are sent
// to the login form, other requests refused. POST requests must carry the
// CSRF token and, when the browser names it, the console's own origin.
func (c *Console) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.opts.Settings()
		p, fail := c.identify(r, s)
		if p == nil {
			if fail != "" {
				c.renderError(w, r, nil, http.StatusForbidden, fail)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.renderError(w, r, nil, http.StatusUnauthorized, "Sign in first.")
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(c.csrfToken(s, p))) {
				c.log.Warn("console: POST refused: CSRF check failed", zap.String("path", r.URL.Path), zap.String("admin", p.name))
				c.renderError(w, r, p, http.StatusForbidden, "The form was stale or not sent by the console; reload the page and try again.")
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, p)
	})
}

// identify returns the signed-in operator, or nil with a reason to refuse
// (empty: not signed in).
func (c *Console) identify(r *http.Request, s Settings) (*principal, string) {
	if f := s.ForwardAuth; f.Enabled && trustedPeer(r, f) {
		user := strings.TrimSpace(r.Header.Get(f.UserHeader))
		if user == "" {
			return nil, "The authenticating proxy did not name the user (" + f.UserHeader + ")."
		}
		if len(user) > 256 {
			return nil, "The proxy's user name is too long."
		}
		return &principal{name: user, via: "proxy", seed: "proxy\x00" + user}, ""
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	return c.verifySession(s, ck.Value), ""
}

// trustedPeer reports whether the request's peer is one of the trusted
// proxies.
func trustedPeer(r *http.Request, f config.ForwardAuth) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range f.TrustedPrefixes() {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// sameOrigin refuses a POST whose browser-supplied origin is another site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

func (c *Console) signingKey(s Settings) []byte {
	if s.SessionKey == "" {
		return c.key
	}
	sum := sha256.Sum256([]byte("scim-bridge console session\x00" + s.SessionKey))
	return sum[:]
}

func (c *Console) mac(s Settings, parts ...string) string {
	m := hmac.New(sha256.New, c.signingKey(s))
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) csrfToken(s Settings, p *principal) string {
	return c.mac(s, "csrf", p.seed)
}

// hashPrefix is the part of a token's hash a session names it by.
func hashPrefix(h []byte) string { return hex.EncodeToString(h[:8]) }

// newSession returns a signed session value for the admin token named
// name whose hash is hash.
func (c *Console) newSession(s Settings, name string, hash []byte) (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	exp := c.opts.Now().Add(s.SessionTTL).Unix()
	payload := strings.Join([]string{
		base64.RawURLEncoding.EncodeToString([]byte(name)), hashPrefix(hash), strconv.FormatInt(exp, 10),
		hex.EncodeToString(nonce[:]),
	}, ".")
	return payload + "." + c.mac(s, "session", payload), nil
}

// verifySession returns the operator a session value signs in, or nil.
func (c *Console) verifySession(s Settings, v string) *principal {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return nil
	}
	payload, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(c.mac(s, "session", payload))) {
		return nil
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 4 {
		return nil
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || c.opts.Now().Unix() >= exp {
		return nil
	}
	// The token must still be configured under the same name.
	for i, h := range s.Tokens {
		if i < len(s.Names) && s.Names[i] == string(name) && len(h) >= 8 &&
			subtle.ConstantTimeCompare([]byte(hashPrefix(h)), []byte(parts[1])) == 1 {
			return &principal{name: string(name), via: "token", seed: "session\x00" + parts[3]}
		}
	}
	return nil
}

func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode,
	})
}

type loginData struct {
	Next    string
	CSRF    string
	Message string
	Tokens  bool
	Proxy   bool
}

// loginForm shows the sign-in form with a login CSRF token, also set as a
// cookie (double submit), since there is no session yet.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	s := c.opts.Settings()
	if p, _ := c.identify(r, s); p != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, s, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, s Settings, status int, msg string) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		c.renderError(w, r, nil, http.StatusInternalServerError, "No randomness.")
		return
	}
	tok := hex.EncodeToString(b[:])
	setCookie(w, r, loginCookie, tok, 600)
	w.Header().Set("Cache-Control", "no-store")
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	c.render(w, r, nil, status, "login", "Sign in", loginData{
		Next: safeNext(next), CSRF: tok, Message: msg, Tokens: len(s.Tokens) > 0, Proxy: s.ForwardAuth.Enabled,
	})
}

// login checks the admin token and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	s := c.opts.Settings()
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !hmac.Equal([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) {
		c.showLogin(w, r, s, http.StatusForbidden, "The sign-in form was stale; try again.")
		return
	}
	i := config.MatchToken(strings.TrimSpace(r.PostFormValue("token")), s.Tokens)
	if i < 0 || i >= len(s.Names) {
		c.log.Warn("console: sign-in refused: unknown admin token", zap.String("remote", r.RemoteAddr))
		c.showLogin(w, r, s, http.StatusUnauthorized, "That is not an admin token of this bridge.")
		return
	}
	v, err := c.newSession(s, s.Names[i], s.Tokens[i])
	if err != nil {
		c.renderError(w, r, nil, http.StatusInternalServerError, "The session could not be started.")
		return
	}
	setCookie(w, r, loginCookie, "", -1)
	setCookie(w, r, sessionCookie, v, int(s.SessionTTL.Seconds()))
	c.log.Info("console: signed in", zap.String("admin", s.Names[i]))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *principal) {
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
