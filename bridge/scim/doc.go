// Package scim owns the bridge's SCIM 2.0 front end: the /Users and /Groups
// resource handlers, PATCH application, filter evaluation over the store,
// discovery endpoints, bearer-token auth, body-limit, recover, logging and
// metrics middleware, and SCIM error responses.
//
// Routing, schema validation, PATCH parsing, list responses, /Schemas and
// /ResourceTypes come from github.com/elimity-com/scim, mounted under
// gorilla/mux at the configured base path. Where that library is stricter
// than real identity providers, requests are normalised before it sees them
// (normalize.go) rather than rejected:
//
//   - string booleans ("False", "true") become booleans for every attribute
//     the schema types as boolean (Entra without aadOptscim062020); the
//     library's process-wide SetAllowStringValues switch is not used;
//   - a bare string given for a complex attribute with a "value"
//     sub-attribute becomes {"value": s} (Entra's enterprise manager, and
//     member lists sent as plain ids);
//   - "members": null is dropped, a missing "schemas" array is supplied;
//   - keys of a path-less PATCH value that name no known attribute are
//     dropped, as unknown attributes of POST/PUT bodies are;
//   - the PATCH "schemas" array is supplied when missing; capitalised ops
//     are lower-cased by the library itself;
//   - a PATCH path that is a bare extension URN becomes the path-less
//     operation on that extension's object (add, replace) or a remove of
//     each of its attributes.
//
// The library only parses PATCH operations; this package applies them
// (patch.go), including value-path filters and dotted and URN-prefixed
// keys. A replace on a filtered path that matches nothing is 400 noTarget,
// except the one shape Entra needs upserted (typeUpsert). Every user write
// leaves one primary value per multi-valued attribute and no repeated
// (type, value) pair (multivalued.go). Group membership PATCHes are
// applied inside store.UpdateGroup's function so concurrent PATCHes never
// lose each other.
//
// /ServiceProviderConfig is served here because the library's version
// cannot advertise ETag support. The user schema follows the configuration
// (Options.Schema): custom fields, and the license types and permission
// bundles /Schemas advertises as canonical values, change on a reload.
// POST …/.search is answered as the GET of the same endpoint (search.go);
// the server root lists users and groups together through the library's
// root query hook. Every route names its methods; any other method is 405
// with an Allow header. List filters are validated by the library's
// rules one attribute expression at a time, each in its own schema
// (resolveFilter in list.go: the library validates the whole filter
// against one schema, refusing a filter that names attributes of the core
// schema and an extension), and handed to the list beside the request; the
// "eq" comparisons the store answers through its indexes (narrowUsers,
// narrowGroups in filter.go) become store.Finder queries paged by the
// store, and whatever else a filter says is tested on the candidates they
// select a chunk at a time (list.go).
//
// The requests identity providers send most skip the library's slow parts
// and get its answers byte for byte: look-ups, plain pages and GET
// /Users/{id} come from one store query (fastlist.go), POST /Users and
// PUT /Users/{id} are validated against a schema built once
// (fastcreate.go), and a user
// PATCH's operations are validated with each path parsed once
// (fastpatch.go). Anything else, and anything the library would refuse,
// goes to the library.
//
// Every request is bounded (limits.go, Options.Limits): values per
// attribute, stored document size, PATCH operations, filter length, depth
// and candidates, checked on the raw JSON or text before the library
// parses it where they can be; large list pages are built within a shared
// budget of stored bytes; an unauthenticated request's body is never read.
package scim
