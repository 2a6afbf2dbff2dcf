package gainsight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// API dialects.
const (
	APIServices = "services"
	APIUsersV1  = "users-v1"
)

// Defaults of Options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultHourWindow  = time.Hour
	DefaultDayWindow   = 24 * time.Hour
	DefaultConcurrency = 4
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultUserAgent   = "gainsight-scim-bridge"

	// baseBackoff is the first retry's backoff ceiling; it doubles with
	// every further attempt up to Options.MaxBackoff.
	baseBackoff = time.Second
	// maxResponseBytes bounds what is read of one response.
	maxResponseBytes = 64 << 20
)

// Options configures a Client. Logger and Registerer are required.
type Options struct {
	BaseURL    string        // https://<tenant-domain>
	API        string        // "services" (default) | "users-v1"
	AccessKey  string        // sent in the accesskey header; never logged
	Timeout    time.Duration // per call (one HTTP exchange), default 30s
	PerHour    int           // calls per hour window; 0 = unlimited
	PerDay     int           // calls per day window; 0 = unlimited
	HourWindow time.Duration // length of the "hour" window, default 1h
	DayWindow  time.Duration // length of the "day" window, default 24h
	// ReservedPerHour and ReservedPerDay are the calls of each window that
	// only urgent calls (WithUrgent) may spend; below PerHour and PerDay.
	ReservedPerHour int
	ReservedPerDay  int
	Concurrency     int // users-v1 fan-out of batch methods, default 4
	// DefaultRole is the users-v1 role sent on create when a record has no
	// permissionBundles (that dialect requires a role).
	DefaultRole string
	// ListFields are fields Find selects besides the standard ones
	// (services dialect), typically the configured custom fields.
	ListFields []string
	UserAgent  string       // default "gainsight-scim-bridge"
	HTTPClient *http.Client // default: a client without timeout (Timeout applies per call)
	Clock      Clock        // default: the wall clock
	Counter    Counter      // default: NewMemoryCounter()
	MaxBackoff time.Duration
	Logger     *zap.Logger
	Registerer prometheus.Registerer
}

func (o *Options) validate() error {
	var errs []error
	if o.Logger == nil {
		errs = append(errs, errors.New("logger is required"))
	}
	if o.Registerer == nil {
		errs = append(errs, errors.New("registerer is required"))
	}
	switch o.API {
	case "", APIServices, APIUsersV1:
	default:
		errs = append(errs, fmt.Errorf("api %q is not one of %s, %s", o.API, APIServices, APIUsersV1))
	}
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("baseURL %q is not an http(s) URL", o.BaseURL))
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"perHour", o.PerHour < 0}, {"perDay", o.PerDay < 0}, {"concurrency", o.Concurrency < 0},
		{"reservedPerHour", o.ReservedPerHour < 0}, {"reservedPerDay", o.ReservedPerDay < 0},
		{"timeout", o.Timeout < 0}, {"hourWindow", o.HourWindow < 0}, {"dayWindow", o.DayWindow < 0},
		{"maxBackoff", o.MaxBackoff < 0},
	} {
		if f.negative {
			errs = append(errs, fmt.Errorf("%s must not be negative", f.name))
		}
	}
	if o.PerHour > 0 && o.ReservedPerHour >= o.PerHour {
		errs = append(errs, fmt.Errorf("reservedPerHour %d must be below perHour %d", o.ReservedPerHour, o.PerHour))
	}
	if o.PerDay > 0 && o.ReservedPerDay >= o.PerDay {
		errs = append(errs, fmt.Errorf("reservedPerDay %d must be below perDay %d", o.ReservedPerDay, o.PerDay))
	}
	return errors.Join(errs...)
}

func (o *Options) setDefaults() {
	if o.API == "" {
		o.API = APIServices
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HourWindow == 0 {
		o.HourWindow = DefaultHourWindow
	}
	if o.DayWindow == 0 {
		o.DayWindow = DefaultDayWindow
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Counter == nil {
		o.Counter = NewMemoryCounter()
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
}

// New returns the Client of the configured dialect. Its metrics are
// registered on opts.Registerer, so one Registerer takes one Client.
func New(opts Options) (Client, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("gainsight: options: %w", err)
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("gainsight: metrics: %w", err)
	}
	t := &transport{
		opts: opts,
		log:  opts.Logger.Named("gainsight"),
		m:    m,
	}
	// The day is taken before the hour: a call that holds a day slot while
	// waiting for the next hour keeps it (same day), whereas an hour slot
	// held while waiting for the next day would be lost.
	t.budget = newBudget(opts.Clock, opts.Counter, []budgetWindow{
		{name: WindowDay, length: opts.DayWindow, limit: opts.PerDay, reserve: opts.ReservedPerDay},
		{name: WindowHour, length: opts.HourWindow, limit: opts.PerHour, reserve: opts.ReservedPerHour},
	}, budgetGauges{
		remaining: func(w string, v float64) { m.budget.WithLabelValues(w).Set(v) },
		limit:     func(w string, v float64) { m.limit.WithLabelValues(w).Set(v) },
		effective: func(w string, v float64) { m.effective.WithLabelValues(w).Set(v) },
	}, t.log)
	if opts.API == APIUsersV1 {
		t.authHeader = "Accesskey"
		return &usersV1{t: t}, nil
	}
	t.authHeader = "accesskey"
	return &services{t: t}, nil
}

// transport sends calls: rate budget, one HTTP exchange per attempt,
// retries, metrics and logs.
type transport struct {
	opts       Options
	log        *zap.Logger
	m          *metrics
	budget     *budget
	authHeader string
}

// request is one logical call.
type request struct {
	op      string
	method  string
	path    string
	query   url.Values
	body    any // marshalled as JSON when not nil
	records int // records carried, for logs
	// idempotent calls are retried on every retryable error. Others only
	// when Gainsight cannot have acted on them: a 429 rejection, or a
	// connection that was never established.
	idempotent bool
}

// response is what arrived of one exchange.
type response struct {
	status int
	env    envelope
	raw    []byte
}

// envelope is Gainsight's response wrapper. The users-v1 dialect only
// carries result and data.
type envelope struct {
	Result    *bool           `json:"result"`
	ErrorCode looseString     `json:"errorCode"`
	ErrorDesc looseString     `json:"errorDesc"`
	RequestID looseString     `json:"requestId"`
	Data      json.RawMessage `json:"data"`
	Message   looseString     `json:"message"`
}

// looseString decodes a JSON string, number or null into a string.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*s = ""
	case string:
		*s = looseString(v)
	default:
		*s = looseString(strings.Trim(string(b), `"`))
	}
	return nil
}

// call sends req, waiting for budget and retrying as allowed until it
// succeeds, fails permanently or ctx ends. A non-nil response comes with
// any *Error that carries a Gainsight answer, so batch calls can read
// per-record results from a failed call.
func (t *transport) call(ctx context.Context, req request) (*response, error) {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("gainsight: %s: encode body: %w", req.op, err)
		}
	}
	var last *Error
	for attempt := 1; ; attempt++ {
		if err := t.budget.take(ctx); err != nil {
			return nil, giveUp(req.op, attempt-1, last, err)
		}
		resp, gerr := t.once(ctx, req, body, attempt)
		if resp != nil && resp.status != http.StatusTooManyRequests {
			t.budget.accepted()
		}
		if gerr == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, giveUp(req.op, attempt, gerr, ctx.Err())
		}
		if !gerr.Retryable() || (!req.idempotent && !gerr.mayRepeat()) {
			return resp, gerr
		}
		last = gerr
		reason := gerr.Reason()
		if reason == ReasonRateLimited {
			t.m.retries.WithLabelValues(req.op, reason).Inc()
			until := t.budget.refused(ctx)
			t.log.Warn("rate limited; one call probes again after a pause",
				zap.String("operation", req.op), zap.Time("probe_at", until), zap.Int("attempt", attempt))
			continue
		}
		delay := t.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && t.opts.Clock.Now().Add(delay).After(dl) {
			return resp, giveUp(req.op, attempt, gerr, context.DeadlineExceeded)
		}
		t.m.retries.WithLabelValues(req.op, reason).Inc()
		t.log.Info("retrying after backoff", zap.String("operation", req.op),
			zap.String("reason", reason), zap.Duration("backoff", delay), zap.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			return resp, giveUp(req.op, attempt, gerr, ctx.Err())
		case <-t.opts.Clock.After(delay):
		}
	}
}

// backoff is exponential with full jitter: uniform in [0, min(max, base·2ⁿ⁻¹)].
func (t *transport) backoff(attempt int) time.Duration {
	ceiling := t.opts.MaxBackoff
	if attempt < 32 {
		if d := baseBackoff << (attempt - 1); d < ceiling {
			ceiling = d
		}
	}
	return rand.N(ceiling + 1)
}

// giveUp is the error of a call abandoned because ctx ended: it wraps the
// context's error and, when there was one, the last *Error.
func giveUp(op string, attempts int, last *Error, ctxErr error) error {
	if last == nil {
		return fmt.Errorf("gainsight: %s: %w", op, ctxErr)
	}
	return fmt.Errorf("gainsight: %s: giving up after %d attempts: %w: %w", op, attempts, ctxErr, last)
}

// once is one HTTP exchange.
func (t *transport) once(ctx context.Context, req request, body []byte, attempt int) (*response, *Error) {
	u := t.opts.BaseURL + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	cctx, cancel := context.WithTimeoutCause(ctx, t.opts.Timeout, errTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(cctx, req.method, u, rd)
	if err != nil {
		return nil, &Error{Op: req.op, Err: err, reason: ReasonOther}
	}
	// Set directly so the header goes out spelled as the dialect documents.
	hreq.Header[t.authHeader] = []string{t.opts.AccessKey}
	hreq.Header.Set("User-Agent", t.opts.UserAgent)
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}

	began := time.Now()
	resp, gerr := t.exchange(cctx, hreq, req.op)
	elapsed := time.Since(began)
	code := ReasonNetwork
	switch {
	case resp != nil:
		code = strconv.Itoa(resp.status)
	case gerr.Reason() == ReasonTimeout:
		code = ReasonTimeout
	}
	t.m.requests.WithLabelValues(req.op, code).Inc()
	t.m.duration.WithLabelValues(req.op).Observe(elapsed.Seconds())

	fields := []zap.Field{
		zap.String("operation", req.op), zap.String("code", code),
		zap.Duration("duration", elapsed), zap.Int("records", req.records), zap.Int("attempt", attempt),
	}
	if resp != nil && resp.env.RequestID != "" {
		fields = append(fields, zap.String("request_id", string(resp.env.RequestID)))
	}
	if gerr != nil {
		fields = append(fields, zap.String("reason", gerr.Reason()), zap.String("error_code", gerr.Code),
			zap.String("error", redactEmails(gerr.Error())))
		t.log.Warn("gainsight call failed", fields...)
	} else {
		t.log.Info("gainsight call", fields...)
	}
	return resp, gerr
}

// exchange performs the HTTP request and turns the answer into a response
// and, when it is a failure, an *Error.
func (t *transport) exchange(ctx context.Context, hreq *http.Request, op string) (*response, *Error) {
	hresp, err := t.opts.HTTPClient.Do(hreq)
	if err != nil {
		return nil, transportError(ctx, op, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		return nil, transportError(ctx, op, err)
	}
	resp := &response{status: hresp.StatusCode, raw: raw}
	jsonErr := json.Unmarshal(raw, &resp.env)
	failed := hresp.StatusCode >= 300 || (resp.env.Result != nil && !*resp.env.Result)
	if !failed && jsonErr != nil && len(bytes.TrimSpace(raw)) > 0 {
		return resp, &Error{Op: op, Status: hresp.StatusCode, Err: fmt.Errorf("decode response: %w", jsonErr), reason: ReasonOther}
	}
	if !failed {
		return resp, nil
	}
	msg := string(resp.env.ErrorDesc)
	if msg == "" {
		msg = string(resp.env.Message)
	}
	if msg == "" && jsonErr != nil {
		msg = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	return resp, &Error{
		Op: op, Status: hresp.StatusCode, Code: string(resp.env.ErrorCode),
		Message: msg, RequestID: string(resp.env.RequestID),
	}
}

// transportError classifies a failure without an HTTP answer.
func transportError(ctx context.Context, op string, err error) *Error {
	e := &Error{Op: op, Err: err}
	if errors.Is(context.Cause(ctx), errTimeout) {
		e.Err = fmt.Errorf("%w: %w", errTimeout, err)
		e.reason = ReasonTimeout
	}
	var op2 *net.OpError
	if errors.As(err, &op2) && op2.Op == "dial" {
		e.unsent = true
	}
	return e
}

// redactEmails keeps the first character of each email's local part, so
// logs at info never carry full addresses.
func redactEmails(s string) string { return emailPattern.ReplaceAllString(s, "$1***@") }

var emailPattern = regexp.MustCompile(`([A-Za-z0-9])[A-Za-z0-9._%+\-]*@`)
