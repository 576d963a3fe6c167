// Package schema embeds the goose migrations of both engines. Migrations
// are append-only and numbered alike in both folders: a schema change adds
// one file to each and regenerates the queries (make generate).
package schema

import "embed"

// Postgres holds schema/postgres/*.sql.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite holds schema/sqlite/*.sql.
//
//go:embed sqlite/*.sql
var SQLite embed.FS
