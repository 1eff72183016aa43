package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 document of every route, served at
// /openapi.json. It is kept by hand next to the routes it describes; the
// tests fail when a route and the document disagree, and every request
// and response of the API tests is validated against it (package
// openapitest), so that a handler's answer that drifts from it fails.
//
//go:embed openapi.json
var openAPIDocument []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
}
