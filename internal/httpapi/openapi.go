package httpapi

import (
	"bytes"
	_ "embed"
	"net/http"
)

// openapi.json is generated: edit openapi.base.json (paths, prose), the
// types of package api (schemas) or routes.go (access), then run go
// generate (make generate-openapi).
//go:generate go run ./internal/openapigen -base openapi.base.json -api ../../api -out openapi.json

// openAPIDocument is the OpenAPI 3.1 description of every route in
// routes.go; TestOpenAPIMatchesRoutes keeps the two in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI document the API serves at
// /api/v1/openapi.json (a copy: the caller may keep or change it).
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }

func (s *server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
	return nil
}
