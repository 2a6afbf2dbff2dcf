package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Default returns the configuration every file starts from: the defaults
// documented on the schema's fields. It has no SCIM tokens and no Gainsight
// base URL or access key, so it does not validate on its own.
func Default() Config {
	return Config{
		Listen: Listen{
			SCIM:           "127.0.0.1:8080",
			Admin:          "127.0.0.1:9090",
			MaxHeaderBytes: 32 << 10,
			MaxConnections: 512,
		},
		SCIM: SCIM{
			BasePath:     "/scim/v2",
			MaxBodyBytes: 1 << 20,
			Limits: SCIMLimits{
				MaxValuesPerAttribute: 100,
				MaxDocumentBytes:      32 << 10,
				MaxPatchOperations:    1000,
				MaxFilterLength:       4096,
				MaxFilterDepth:        16,
				MaxFilterCandidates:   10000,
			},
		},
		Gainsight: Gainsight{
			API:     APIServices,
			Timeout: 30 * time.Second,
			Budget: Budget{PerHour: 100, PerDay: 1000, ReservedPercent: 10,
				WindowHour: time.Hour, WindowDay: 24 * time.Hour},
			BatchSize:   50,
			Concurrency: 4,
		},
		Store: Store{
			Type:   StoreSQLite,
			SQLite: SQLite{Path: "./scim-bridge.db"},
			Postgres: Postgres{
				MaxConns:         10,
				StatementTimeout: 10 * time.Second,
			},
		},
		Sync: Sync{
			BatchWindow:        2 * time.Second,
			MinBackoff:         30 * time.Second,
			MaxBackoff:         time.Hour,
			Lease:              5 * time.Minute,
			ReconcileInterval:  24 * time.Hour,
			TombstoneRetention: 90 * 24 * time.Hour,
			Snapshot:           SnapshotAuto,
			SnapshotMaxAge:     24 * time.Hour,
			Mode:               ModeLive,
			Guard:              Guard{Enabled: true, MaxUsers: 50, MaxPercent: 10, Window: time.Hour},
		},
		Mapping: Mapping{UserNameField: "SFDCUserName"},
		Defaults: Defaults{
			LicenseType: "Viewer",
			SystemType:  "Internal",
		},
		Licenses: Licenses{
			Priority: []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full"},
		},
		Deprovision: Deprovision{OnNoProfiledGroups: DeprovisionKeep},
		Log:         Log{Level: "info"},
		Audit:       defaultAudit(),
		Console:     defaultConsole(),
	}
}

// defaultGoogleInterval is the polling interval of a google source that sets
// none.
const defaultGoogleInterval = 5 * time.Minute

// Load reads, decodes, resolves and validates the configuration file at
// path. Relative secret file paths are resolved against the file's
// directory. Problems with the content are returned as ValidationErrors
// (wrapped with the file name), so errors.As finds every one of them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse builds a configuration from YAML: defaults first, then strict
// decoding (unknown or repeated keys are errors with their line), ${VAR}
// expansion of environment variables in values (a missing variable is an
// error; "$${" stands for a literal "${"), secrets from the …File keys
// (relative to baseDir, trailing newlines trimmed), then Validate. An
// empty document yields the defaults, which do not validate on their own.
//
// Syntax errors are returned wrapped; every other problem is reported at
// once as ValidationErrors.
func Parse(data []byte, baseDir string) (*Config, error) {
	return parse(data, baseDir, os.LookupEnv)
}

func parse(data []byte, baseDir string, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg := Default()
	errs, err := decode(data, &cfg, lookupEnv)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if cfg.Google != nil && cfg.Google.Interval == 0 {
		cfg.Google.Interval = defaultGoogleInterval
	}
	normalizeFields(&cfg)
	errs = append(errs, resolveSecrets(&cfg, baseDir)...)
	if err := cfg.Validate(); err != nil {
		var verrs ValidationErrors
		if !errors.As(err, &verrs) {
			return nil, err
		}
		errs = append(errs, verrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &cfg, nil
}

// decode decodes data onto cfg. It returns an error for YAML that does not
// parse, and FieldErrors for unknown or repeated keys, missing environment
// variables and values of the wrong type.
func decode(data []byte, cfg *Config, lookupEnv func(string) (string, bool)) (ValidationErrors, error) {
	var errs ValidationErrors

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty document: defaults only
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		return ValidationErrors{{Path: fmt.Sprintf("line %d", extra.Line), Message: "a configuration file holds exactly one YAML document"}}, nil
	}

	// Key checks run on the text as written, before expansion, so that the
	// strict decoder reports the lines the author sees. Values are decoded
	// only after expansion; type errors of this pass are therefore ignored.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var scratch Config
	if err := strict.Decode(&scratch); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("config: %w", err)
		}
		for _, msg := range te.Errors {
			if isKeyError(msg) {
				errs = append(errs, lineError(msg))
			}
		}
	}

	errs = append(errs, expandNode(&root, "", lookupEnv)...)

	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("config: %w", err)
		}
		for _, msg := range te.Errors {
			if !isKeyError(msg) {
				errs = append(errs, lineError(msg))
			}
		}
	}
	return errs, nil
}

// isKeyError reports whether a yaml.v3 type error message is about a key
// (unknown or repeated) rather than a value.
func isKeyError(msg string) bool {
	return strings.Contains(msg, " not found in type ") ||
		strings.Contains(msg, " already set in type ") ||
		strings.Contains(msg, " already defined at line ")
}

// lineError turns a yaml.v3 message "line N: text" into a FieldError whose
// path is "line N".
func lineError(msg string) FieldError {
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i > 0 {
			return FieldError{Path: msg[:i], Message: msg[i+2:]}
		}
	}
	return FieldError{Path: "config", Message: msg}
}

// expandNode replaces ${VAR} references in every scalar value below n (keys
// are left alone). path is the field path of n, for messages.
func expandNode(n *yaml.Node, path string, lookupEnv func(string) (string, bool)) ValidationErrors {
	var errs ValidationErrors
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			errs = append(errs, expandNode(c, path, lookupEnv)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, expandNode(n.Content[i+1], joinPath(path, n.Content[i].Value), lookupEnv)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, expandNode(c, path+"["+strconv.Itoa(i)+"]", lookupEnv)...)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return nil
		}
		value, missing, err := expandEnv(n.Value, lookupEnv)
		if err != nil {
			// Clear the value so that decoding does not report it again.
			n.Value, n.Tag = "", ""
			return ValidationErrors{{Path: path, Message: fmt.Sprintf("%v (line %d)", err, n.Line)}}
		}
		for _, name := range missing {
			errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf("environment variable %q is not set (line %d)", name, n.Line)})
		}
		if value != n.Value {
			n.Value = value
			// Let a plain scalar's type follow its expanded text, so
			// "batchSize: ${N}" decodes as a number; quoted or explicitly
			// tagged scalars keep their type.
			if n.Style&yaml.TaggedStyle == 0 {
				n.Tag = ""
			}
		}
	}
	return errs
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// expandEnv replaces ${NAME} with the variable's value. "$${" is a literal
// "${"; any other "$" is kept as is. Missing variables are replaced by ""
// and returned by name.
func expandEnv(s string, lookupEnv func(string) (string, bool)) (string, []string, error) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("unterminated variable reference %q", s[i:])
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", nil, fmt.Errorf("invalid variable reference %q", "${"+name+"}")
			}
			if v, ok := lookupEnv(name); ok {
				b.WriteString(v)
			} else {
				missing = append(missing, name)
			}
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), missing, nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// normalizeFields turns decoded YAML lists of strings in group profile
// fields into []string, the form the rest of the bridge works with.
func normalizeFields(cfg *Config) {
	for _, g := range cfg.Groups {
		for k, v := range g.Fields {
			list, ok := v.([]any)
			if !ok {
				continue
			}
			strs := make([]string, 0, len(list))
			for _, item := range list {
				s, ok := item.(string)
				if !ok {
					strs = nil
					break
				}
				strs = append(strs, s)
			}
			if strs != nil {
				g.Fields[k] = strs
			}
		}
	}
}

// resolveSecrets loads every secret given as a …File key. A secret given
// both inline and as a file is an error.
func resolveSecrets(cfg *Config, baseDir string) ValidationErrors {
	var errs ValidationErrors
	load := func(path string, value *Secret, file string, fileKey string) {
		if file == "" {
			return
		}
		if *value != "" {
			errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf("set either %s or %s, not both", lastKey(path), fileKey)})
			return
		}
		s, err := readSecretFile(baseDir, file)
		if err != nil {
			errs = append(errs, FieldError{Path: joinPath(parentPath(path), fileKey), Message: err.Error()})
			return
		}
		*value = Secret(s)
	}
	for i := range cfg.SCIM.Tokens {
		t := &cfg.SCIM.Tokens[i]
		load(fmt.Sprintf("scim.tokens[%d].sha256", i), &t.SHA256, t.SHA256File, "sha256File")
	}
	for i := range cfg.Console.Tokens {
		t := &cfg.Console.Tokens[i]
		load(fmt.Sprintf("console.tokens[%d].sha256", i), &t.SHA256, t.SHA256File, "sha256File")
	}
	load("console.sessionKey", &cfg.Console.SessionKey, cfg.Console.SessionKeyFile, "sessionKeyFile")
	load("gainsight.accessKey", &cfg.Gainsight.AccessKey, cfg.Gainsight.AccessKeyFile, "accessKeyFile")
	load("store.postgres.dsn", &cfg.Store.Postgres.DSN, cfg.Store.Postgres.DSNFile, "dsnFile")
	if g := cfg.Google; g != nil && g.CredentialsFile != "" && !filepath.IsAbs(g.CredentialsFile) {
		g.CredentialsFile = filepath.Join(baseDir, g.CredentialsFile)
	}
	return errs
}

func readSecretFile(baseDir, file string) (string, error) {
	if !filepath.IsAbs(file) {
		file = filepath.Join(baseDir, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", file)
	}
	return s, nil
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
