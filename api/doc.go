// Package api is flymodel's wire format: the request and response bodies
// of the HTTP API (/api/v1), the classes of its errors (errors.go), and the
// vocabulary they use — lifecycles, experiment states, roles, artifact
// formats and encodings, token statuses, audit outcomes, the names the
// audit log gives to actors, and the precision of the times it shows.
//
// The server (internal/httpapi) writes and reads these types, the Go
// client (package client) decodes and sends the same types, and the
// OpenAPI document's components/schemas are generated from them (go
// generate ./internal/httpapi; make check-openapi fails when the committed
// document is stale). The doc comment of a type or field is the
// description of its schema: its first paragraph, with a leading
// "<Type> is" dropped.
//
// The vocabulary types are aliases of string, so that a field declared as
// Lifecycle is still a string to the code that reads it; their values are
// listed once here, in the order the API documents them.
//
// The package imports only the standard library.
package api
