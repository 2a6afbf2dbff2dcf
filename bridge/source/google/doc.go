// Package google owns the Google Workspace source: it polls the Admin SDK
// Directory API for the users and groups in scope and writes them into the
// store, owned by the source, as if an identity provider had pushed them
// over SCIM.
//
// It uses Google's official client (google.golang.org/api/admin/directory/v1
// with golang.org/x/oauth2/google) rather than hand-written HTTP: the
// generated client tracks the API's request and response shapes and its
// paging tokens, and the oauth2 package implements the service-account JWT
// flow with domain-wide delegation (the subject claim) and token refresh,
// which are easy to get subtly wrong. The generated calls do not retry, so
// the source adds its own bounded backoff on quota (403 rateLimitExceeded,
// 429) and server errors, honouring Retry-After.
package google
