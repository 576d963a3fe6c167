// Command openapigen writes the OpenAPI document the server serves,
// internal/httpapi/openapi.json, from three sources, each fact in one:
//
//   - openapi.base.json, hand-written: the paths and their prose,
//     parameters, request bodies, responses, headers, and the schemas no
//     Go type describes (names and their patterns, multipart forms, the
//     problem types);
//   - the wire types of package api: components/schemas (the table in
//     table.go names them), with their doc comments as descriptions;
//   - the route table of routes.go (httpapi.Routes): each operation's
//     security and its 401, 403 and 429 answers.
//
// It runs from go generate in internal/httpapi; make check-openapi fails
// when the committed document is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/flymodel/flymodel/internal/httpapi"
)

func main() {
	base := flag.String("base", "openapi.base.json", "the hand-written parts of the document")
	apiDir := flag.String("api", "../../api", "the directory of package api")
	out := flag.String("out", "openapi.json", "the document to write")
	flag.Parse()
	if err := run(*base, *apiDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(base, apiDir, out string) error {
	src, err := os.ReadFile(base)
	if err != nil {
		return err
	}
	doc, err := generate(src, apiDir, httpapi.Routes())
	if err != nil {
		return err
	}
	return os.WriteFile(out, doc, 0o644)
}
