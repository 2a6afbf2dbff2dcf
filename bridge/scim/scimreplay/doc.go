// Package scimreplay loads and replays recorded IdP request sequences
// (golden files) against a SCIM handler, checking statuses and key response
// fields and carrying ids captured from earlier responses into later
// requests.
package scimreplay
