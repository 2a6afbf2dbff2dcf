package scim

import (
	"encoding/json"
	"net/http"
	"strings"

	elscim "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

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
}

func newResourceSchema(core schema.Schema, exts ...schema.Schema) resourceSchema {
	attrs := append(schema.Attributes{}, core.Attributes...)
	attrs = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact: true, Name: "externalId",
	})))
	return resourceSchema{core: core, extensions: exts, attrs: attrs}
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

func userResourceSchema(fields []config.CustomField) resourceSchema {
	return newResourceSchema(schema.CoreUserSchema(),
		schema.ExtensionEnterpriseUser(), gainsightExtension(fields), bridgeExtension())
}

func groupResourceSchema() resourceSchema {
	return newResourceSchema(schema.CoreGroupSchema())
}

func gainsightExtension(fields []config.CustomField) schema.Schema {
	attrs := []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name:        "LicenseType",
			Description: optional.NewString("Gainsight license type, e.g. Full or Viewer."),
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
