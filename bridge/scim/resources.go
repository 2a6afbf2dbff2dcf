package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	elscim "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Schema URNs.
const (
	URNUser       = schema.UserSchema
	URNGroup      = schema.GroupSchema
	URNEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// URNGainsight is the extension Gainsight's own SCIM uses for
	// LicenseType and custom fields, so existing IdP mappings carry over.
	URNGainsight = "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User"
	// URNBridge is the read-only extension showing a user's sync state.
	URNBridge  = "urn:ietf:params:scim:schemas:extension:gainsight-scim-bridge:2.0:User"
	urnPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// resourceSchema is a core schema with its extensions.
type resourceSchema struct {
	core       schema.Schema
	extensions []schema.Schema
	// attrs are the core attributes plus the common externalId, which the
	// library accepts on every resource.
	attrs schema.Attributes
	// paths keeps the PATCH paths parsed for this schema.
	paths *pathCache
}

func newResourceSchema(core schema.Schema, exts ...schema.Schema) resourceSchema {
	attrs := append(schema.Attributes{}, core.Attributes...)
	attrs = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact: true, Name: "externalId",
	})))
	return resourceSchema{core: core, extensions: exts, attrs: attrs, paths: &pathCache{}}
}

// pathCache remembers parsed attribute paths. The paths of PATCH
// operations are few — those of the identity providers' mappings — and
// parsing one costs more than applying it.
type pathCache struct {
	m sync.Map // string → parsedPath
	n atomic.Int32
}

type parsedPath struct {
	p   filter.Path
	err error
}

// maxCachedPaths bounds the paths kept; longer paths are not kept.
const (
	maxCachedPaths   = 4096
	maxCachedPathLen = 512
)

// parse is filter.ParsePath, remembered. The parsed paths are shared:
// they are only read.
func (c *pathCache) parse(s string) (filter.Path, error) {
	if v, ok := c.m.Load(s); ok {
		r := v.(parsedPath)
		return r.p, r.err
	}
	p, err := filter.ParsePath([]byte(s))
	if err == nil {
		unescapeFilter(p.ValueExpression)
	}
	if len(s) <= maxCachedPathLen && c.n.Load() < maxCachedPaths {
		if _, loaded := c.m.LoadOrStore(s, parsedPath{p, err}); !loaded {
			c.n.Add(1)
		}
	}
	return p, err
}

func (rs resourceSchema) resourceType(name, desc, endpoint string, h elscim.ResourceHandler) elscim.ResourceType {
	rt := elscim.ResourceType{
		ID:          optional.NewString(name),
		Name:        name,
		Description: optional.NewString(desc),
		Endpoint:    endpoint,
		Schema:      rs.core,
		Handler:     h,
	}
	for _, e := range rs.extensions {
		rt.SchemaExtensions = append(rt.SchemaExtensions, elscim.SchemaExtension{Schema: e})
	}
	return rt
}

// SchemaConfig is the part of the user schema that follows the
// configuration. /Schemas advertises the values the bridge validates, so
// clients that honour canonicalValues (RFC 7643 §7) send valid data.
type SchemaConfig struct {
	// CustomFields are the Gainsight custom fields accepted in the
	// Gainsight extension beside LicenseType; dropdown and multi-picklist
	// values are their canonicalValues.
	CustomFields []config.CustomField
	// LicenseTypes are the accepted values of the Gainsight extension's
	// LicenseType, advertised as its canonicalValues.
	LicenseTypes []string
	// PermissionBundles are the accepted roles[].value, advertised as its
	// canonicalValues; empty when roles are not checked.
	PermissionBundles []string
}

func userResourceSchema(cfg SchemaConfig) resourceSchema {
	core := schema.CoreUserSchema()
	core.Attributes = append(schema.Attributes(nil), core.Attributes...)
	for i, a := range core.Attributes {
		switch a.Name() {
		case "timezone":
			core.Attributes[i] = a.WithDescription(optional.NewString(
				"The User's time zone as an IANA time zone database name, e.g. 'America/Los_Angeles'. Other values are refused (400 invalidValue)."))
		case "roles":
			if len(cfg.PermissionBundles) > 0 {
				core.Attributes[i] = rolesAttribute(a, cfg.PermissionBundles)
			}
		}
	}
	return newResourceSchema(core,
		schema.ExtensionEnterpriseUser(), gainsightExtension(cfg.CustomFields, cfg.LicenseTypes), bridgeExtension())
}

// rolesAttribute is the core roles attribute a with the configured
// permission bundles as the canonical values of roles.value.
func rolesAttribute(a schema.CoreAttribute, bundles []string) schema.CoreAttribute {
	var subs []schema.SimpleParams
	for _, s := range a.SubAttributes() {
		desc := optional.NewString(s.Description())
		switch s.Name() {
		case "value":
			subs = append(subs, schema.SimpleStringParams(schema.StringParams{Name: "value", CanonicalValues: bundles,
				Description: optional.NewString("A Gainsight permission bundle; one of the configured roles.")}))
		case "primary":
			subs = append(subs, schema.SimpleBooleanParams(schema.BooleanParams{Name: s.Name(), Description: desc}))
		default:
			subs = append(subs, schema.SimpleStringParams(schema.StringParams{Name: s.Name(), Description: desc}))
		}
	}
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description:   optional.NewString(a.Description()),
		MultiValued:   true,
		Name:          a.Name(),
		SubAttributes: subs,
	})
}

func groupResourceSchema() resourceSchema {
	return newResourceSchema(schema.CoreGroupSchema())
}

func gainsightExtension(fields []config.CustomField, licenseTypes []string) schema.Schema {
	attrs := []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name:            "LicenseType",
			CanonicalValues: licenseTypes,
			Description:     optional.NewString("Gainsight license type; one of the configured license types."),
		})),
	}
	for _, f := range fields {
		if !validAttrName(f.Name) {
			continue // config validation reports it; the schema cannot carry it
		}
		desc := optional.NewString("Gainsight custom field " + f.Name + " (" + f.Type + ").")
		var a schema.CoreAttribute
		switch f.Type {
		case config.FieldBoolean:
			a = schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{Name: f.Name, Description: desc}))
		case config.FieldMultiPicklist:
			a = schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: f.Name, Description: desc, MultiValued: true, CanonicalValues: f.Values}))
		case config.FieldNumber:
			a = schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: f.Name, Description: desc, Type: schema.AttributeTypeDecimal()}))
		default:
			a = schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: f.Name, Description: desc, CanonicalValues: f.Values}))
		}
		attrs = append(attrs, a)
	}
	return schema.Schema{
		ID:          URNGainsight,
		Name:        optional.NewString("Gainsight User"),
		Description: optional.NewString("Gainsight license type and custom fields."),
		Attributes:  attrs,
	}
}

// validAttrName is RFC 7643's ATTRNAME: ALPHA *(nameChar).
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if i == 0 && !alpha {
			return false
		}
		if !alpha && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func bridgeExtension() schema.Schema {
	ro := schema.AttributeMutabilityReadOnly()
	return schema.Schema{
		ID:          URNBridge,
		Name:        optional.NewString("Gainsight sync state"),
		Description: optional.NewString("Read-only: what the bridge knows of the user's Gainsight counterpart."),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "syncState", Mutability: ro, CanonicalValues: []string{"pending", "synced", "failed"},
				Description: optional.NewString("pending, synced or failed."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "gsid", Mutability: ro, CaseExact: true,
				Description: optional.NewString("The Gainsight user id once linked."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "lastError", Mutability: ro,
				Description: optional.NewString("The last error Gainsight returned for this user."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{
				Name: "lastSyncedAt", Mutability: ro,
				Description: optional.NewString("When Gainsight last confirmed the user."),
			})),
		},
	}
}

// extension returns the extension schema with URN id (case-insensitive).
func (rs resourceSchema) extension(id string) (schema.Schema, bool) {
	for _, e := range rs.extensions {
		if strings.EqualFold(e.ID, id) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// serveServiceProviderConfig answers /ServiceProviderConfig (RFC 7643 §5).
func (h *handler) serveServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/gainsight-scim-bridge/gainsight-scim-bridge",
		"patch":            map[string]bool{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.opts.MaxResults},
		"changePassword":   map[string]bool{"supported": false},
		"sort":             map[string]bool{"supported": false},
		"etag":             map[string]bool{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "Authentication with a bearer token configured in scim-bridge.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     h.baseURL(r) + "/ServiceProviderConfig",
		},
	}
	raw, err := json.Marshal(body)
	if err != nil {
		writeError(w, errInternal("encode service provider config"))
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(raw)
}
