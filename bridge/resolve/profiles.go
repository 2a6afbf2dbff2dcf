package resolve

import (
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Profiles matches pushed groups to the configured group profiles. It is
// immutable once built and safe for concurrent use.
type Profiles struct {
	profiles []config.GroupProfile
	// byExternalID and byDisplayName hold indexes into profiles; the first
	// profile in config order wins.
	byExternalID  map[string]int
	byDisplayName map[string]int // lower-cased
	fieldTypes    map[string]string
}

// NewProfiles indexes cfg.Groups. A profile matches a group whose
// externalId equals its ExternalID (exactly) or whose displayName equals its
// DisplayName (case-insensitively); a profile that sets neither is matched
// by its Name as a displayName. A nil cfg gives an empty set.
func NewProfiles(cfg *config.Config) *Profiles {
	p := &Profiles{
		byExternalID:  map[string]int{},
		byDisplayName: map[string]int{},
		fieldTypes:    map[string]string{},
	}
	if cfg == nil {
		return p
	}
	p.profiles = append(p.profiles, cfg.Groups...)
	for i, g := range p.profiles {
		if g.ExternalID != "" {
			if _, dup := p.byExternalID[g.ExternalID]; !dup {
				p.byExternalID[g.ExternalID] = i
			}
		}
		dn := g.DisplayName
		if dn == "" && g.ExternalID == "" {
			dn = g.Name
		}
		if dn != "" {
			key := strings.ToLower(dn)
			if _, dup := p.byDisplayName[key]; !dup {
				p.byDisplayName[key] = i
			}
		}
	}
	for _, f := range cfg.CustomFields {
		p.fieldTypes[f.Name] = f.Type
	}
	return p
}

// Match returns the profile of a pushed group. An externalId match is
// preferred over a displayName match because IdPs keep externalId stable
// across renames.
func (p *Profiles) Match(displayName, externalID string) (config.GroupProfile, bool) {
	if p == nil {
		return config.GroupProfile{}, false
	}
	if externalID != "" {
		if i, ok := p.byExternalID[externalID]; ok {
			return p.profiles[i], true
		}
	}
	if displayName != "" {
		if i, ok := p.byDisplayName[strings.ToLower(displayName)]; ok {
			return p.profiles[i], true
		}
	}
	return config.GroupProfile{}, false
}

// Len is the number of configured profiles.
func (p *Profiles) Len() int {
	if p == nil {
		return 0
	}
	return len(p.profiles)
}

// FieldTypes returns a copy of the configured custom field types (name →
// config.Field* type), as Input.FieldTypes wants them.
func (p *Profiles) FieldTypes() map[string]string {
	if p == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(p.fieldTypes))
	for k, v := range p.fieldTypes {
		out[k] = v
	}
	return out
}
