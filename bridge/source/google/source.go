package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	googleoauth "golang.org/x/oauth2/google"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/option"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Options configure a Source.
type Options struct {
	Config  config.GoogleSource
	BaseDir string // credentialsFile is resolved relative to it
	Store   store.Store
	// Notify wakes the sync engine after a poll changed the store; nil
	// means nobody is woken.
	Notify func()
	// Audit, when set, receives the audit entries of every write a poll
	// made (users created, changed, disabled, deleted; group memberships).
	Audit      func(ctx context.Context, entries []store.AuditEntry)
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // default time.Now
	// HTTPClient, when set, is used for every Directory API call instead
	// of the service account's authorised client (tests talk to the fake
	// without auth); the credentials file is then not read.
	HTTPClient *http.Client
	// CheckGroups validates the groups a user will be in after a group
	// change (the mapper's resolution-conflict check); nil accepts all.
	CheckGroups func([]store.GroupRef) error
	// NewID mints store ids for new users and groups (default UUIDs).
	NewID func() string
	// Backoff is the first wait after a rate-limited or failed call
	// (default 1s); it doubles per attempt up to MaxBackoff (default 1m),
	// for at most MaxAttempts attempts (default 5).
	Backoff     time.Duration
	MaxBackoff  time.Duration
	MaxAttempts int
	// CallTimeout bounds one Directory API request (default 1m).
	CallTimeout time.Duration
	// Lock, when set, is taken around every poll of Run; when another
	// replica holds it, this replica skips the poll. Replicas sharing one
	// store then poll Google once per interval between them.
	Lock func(ctx context.Context) (unlock func(), ok bool, err error)
}

// Source polls Google Workspace and writes the users and groups in scope
// into the store. Its methods are safe for concurrent use; polls run one at
// a time.
type Source struct {
	opts    Options
	dir     *directory
	metrics *metrics
	logger  *zap.Logger
	mu      sync.Mutex // one poll at a time
	status  status     // status.go
}

// New builds a source: it reads the service account key (unless
// HTTPClient is set) and prepares the Directory API client. It does not
// call Google.
func New(ctx context.Context, opts Options) (*Source, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("google: Options.Store is required")
	case opts.Logger == nil:
		return nil, errors.New("google: Options.Logger is required")
	case opts.Registerer == nil:
		return nil, errors.New("google: Options.Registerer is required")
	case opts.Config.Customer == "" && opts.Config.Domain == "":
		return nil, errors.New("google: set customer or domain")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	if opts.Audit == nil {
		opts.Audit = func(context.Context, []store.AuditEntry) {}
	}
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = time.Minute
	}
	if opts.Config.Interval <= 0 {
		opts.Config.Interval = 5 * time.Minute
	}
	logger := opts.Logger.Named("google")
	var copts []option.ClientOption
	if opts.Config.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(opts.Config.Endpoint))
	}
	var clientID string
	if opts.HTTPClient != nil {
		copts = append(copts, option.WithHTTPClient(opts.HTTPClient))
	} else {
		client, id, err := serviceAccountClient(ctx, opts)
		if err != nil {
			return nil, err
		}
		clientID = id
		copts = append(copts, option.WithHTTPClient(client))
	}
	svc, err := admin.NewService(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("google: directory client: %w", err)
	}
	return &Source{
		opts: opts,
		dir: &directory{
			svc: svc, cfg: opts.Config, clientID: clientID, logger: logger,
			maxAttempts: opts.MaxAttempts, backoff: opts.Backoff, maxBackoff: opts.MaxBackoff,
			timeout: opts.CallTimeout,
		},
		metrics: newMetrics(opts.Registerer),
		logger:  logger,
	}, nil
}

// serviceAccountClient reads the service account key and returns an HTTP
// client that signs requests as the configured subject with the read-only
// scopes, and the key's client id (for error messages).
func serviceAccountClient(ctx context.Context, opts Options) (*http.Client, string, error) {
	file := opts.Config.CredentialsFile
	if file == "" {
		return nil, "", errors.New("google: credentialsFile is required")
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(opts.BaseDir, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("google: credentials: %w", err)
	}
	var key struct {
		Type     string `json:"type"`
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(data, &key); err != nil {
		return nil, "", fmt.Errorf("google: credentials %s: %w", file, err)
	}
	if key.Type != "service_account" {
		return nil, "", fmt.Errorf("google: credentials %s: type %q, want a service account key (type service_account)", file, key.Type)
	}
	jwt, err := googleoauth.JWTConfigFromJSON(data, Scopes()...)
	if err != nil {
		return nil, "", fmt.Errorf("google: credentials %s: %w", file, err)
	}
	jwt.Subject = opts.Config.Subject
	// Tokens are refreshed for the source's whole life, not only New's.
	return jwt.Client(context.WithoutCancel(ctx)), key.ClientID, nil
}

// Run polls every interval until ctx ends. A failed poll is logged and
// counted and never ends Run; it returns nil when ctx ends.
func (s *Source) Run(ctx context.Context) error {
	for {
		if err := s.pollLocked(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("google: poll failed", zap.String("reason", ReasonOf(err)), zap.Error(err))
		}
		t := time.NewTimer(s.opts.Config.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// pollLocked polls once under Options.Lock, or not at all when another
// replica holds it.
func (s *Source) pollLocked(ctx context.Context) error {
	if s.opts.Lock != nil {
		unlock, ok, err := s.opts.Lock(ctx)
		if err != nil {
			return fmt.Errorf("google: poll lock: %w", err)
		}
		if !ok {
			s.logger.Debug("google: another replica is polling")
			return nil
		}
		defer unlock()
	}
	_, err := s.PollOnce(ctx)
	return err
}

// PollOnce reads the users and groups in scope from Google and writes
// what changed into the store: one full poll. A change refused by the store
// (a name owned by another source, a resolution conflict) is skipped and
// reported in Changes; other errors end the poll.
func (s *Source) PollOnce(ctx context.Context) (Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	defer func() { s.metrics.pollDuration.Observe(time.Since(start).Seconds()) }()
	ch, err := s.poll(ctx, true)
	s.noteStatus(ch, err)
	if err != nil {
		s.metrics.errors.WithLabelValues(ReasonOf(err)).Inc()
		return ch, err
	}
	s.metrics.usersInScope.Set(float64(ch.UsersInScope))
	s.metrics.groupsInScope.Set(float64(ch.GroupsInScope))
	s.metrics.lastSuccess.Set(float64(s.opts.Now().UnixNano()) / 1e9)
	s.logger.Info("google: poll done",
		zap.Int("users_in_scope", ch.UsersInScope), zap.Int("groups_in_scope", ch.GroupsInScope),
		zap.Int("created", ch.Created), zap.Int("updated", ch.Updated), zap.Int("deactivated", ch.Deactivated),
		zap.Int("deprovisioned", ch.Deprovisioned), zap.Int("groups_changed", ch.GroupsChanged),
		zap.Int("skipped", ch.Skipped), zap.Duration("took", time.Since(start)))
	return ch, nil
}

// Plan reads Google and the store and returns what PollOnce would change
// now, without writing anything.
func (s *Source) Plan(ctx context.Context) (Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll(ctx, false)
}

// Verify checks the credentials and every scope the source needs by
// listing one page of users, of groups and of the members of one group.
func (s *Source) Verify(ctx context.Context) error {
	if _, err := s.dir.listUsers(ctx, 1); err != nil {
		return err
	}
	groups, err := s.dir.listGroupsPage(ctx)
	if err != nil {
		return err
	}
	key := ""
	switch {
	case len(s.opts.Config.UserGroups) > 0:
		key = s.opts.Config.UserGroups[0]
	case len(groups) > 0:
		key = groups[0].Email
	default:
		return nil
	}
	_, err = s.dir.membersPage(ctx, key)
	return err
}

func (s *Source) poll(ctx context.Context, write bool) (Changes, error) {
	snap, err := s.dir.read(ctx)
	if err != nil {
		return Changes{}, err
	}
	p, err := s.plan(ctx, snap)
	if err != nil {
		return Changes{}, err
	}
	if !write {
		return p.changes(), nil
	}
	return s.apply(ctx, p)
}
