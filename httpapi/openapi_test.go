package httpapi_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/admitgate/admit/httpapi"
)

// openAPIRoutes reads the paths and their methods from api/openapi.yaml. The
// file keeps one path per line at two spaces ("  /v1/scan:") and one method
// per line at four ("    post:"), which this reads without a YAML parser.
func openAPIRoutes(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pathRE := regexp.MustCompile(`^  (/[^ :]*):\s*$`)
	methodRE := regexp.MustCompile(`^    (get|put|post|delete|patch|head|options):\s*$`)
	routes := map[string][]string{}
	inPaths, current := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && len(line) > 0 && line[0] != ' ' && line[0] != '#':
			inPaths = false
		case !inPaths:
		case pathRE.MatchString(line):
			current = pathRE.FindStringSubmatch(line)[1]
			if _, dup := routes[current]; dup {
				t.Errorf("openapi.yaml lists %s twice", current)
			}
			routes[current] = []string{}
		case methodRE.MatchString(line):
			routes[current] = append(routes[current], strings.ToUpper(methodRE.FindStringSubmatch(line)[1]))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return routes
}

func TestOpenAPIMatchesTheRouter(t *testing.T) {
	doc := openAPIRoutes(t)
	served := map[string][]string{}
	for _, r := range httpapi.Routes() {
		served[r.Pattern] = append(served[r.Pattern], r.Method)
	}
	for path, methods := range served {
		slices.Sort(methods)
		got := doc[path]
		slices.Sort(got)
		if !slices.Equal(got, methods) {
			t.Errorf("%s: served %v, documented %v", path, methods, got)
		}
	}
	for path, methods := range doc {
		if _, ok := served[path]; !ok {
			t.Errorf("%s %v is documented but not served", path, methods)
		}
		if len(methods) == 0 {
			t.Errorf("%s is documented without methods", path)
		}
	}
	if len(doc) < 20 {
		t.Errorf("only %d paths read from openapi.yaml; is the layout still one path per line?", len(doc))
	}
}

// Every documented route answers something other than 404 on a live server,
// so the file cannot name a route the server lost.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	_, base := testServer(t, httpapi.Config{Index: echoIndex(nil)})
	for path, methods := range openAPIRoutes(t) {
		concrete := strings.NewReplacer("{seq}", "1", "{id}", "1", "{barcode}", "B").Replace(path)
		for _, m := range methods {
			r := do(t, m, base+concrete, adminSecret, nil)
			if r.Status == 405 || r.Status == 404 && strings.Contains(string(r.Body), "no such path") {
				t.Errorf("%s %s: %d %s", m, path, r.Status, r.Body)
			}
		}
	}
}
