package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

// pathName is the path variable key as a name: unescaped by the mux, and
// checked against the naming rules of existing names
// (registry.ValidateNameRef): a bad one is a 400 page.
func pathName(r *http.Request, key string) (string, error) {
	name := r.PathValue(key)
	if err := registry.ValidateNameRef(name); err != nil {
		return "", Errorf(api.ProblemInvalidName, "%s name %s", key, err)
	}
	return name, nil
}

// pathNames resolves several path variables, failing on the first bad one.
func pathNames(r *http.Request, keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		n, err := pathName(r, k)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// The UI's paths (web.go's routes), each name escaped as one segment.

// NamespaceURL is the namespace page.
func NamespaceURL(ns string) string { return "/ns/" + url.PathEscape(ns) }

// ModelURL is the model page.
func ModelURL(ns, model string) string { return NamespaceURL(ns) + "/models/" + url.PathEscape(model) }

// VersionURL is the version page.
func VersionURL(ns, model, version string) string {
	return ModelURL(ns, model) + "/versions/" + url.PathEscape(version)
}

// ArtifactDownloadURL is the API path that downloads a version's artifact
// (names may hold "/": each segment is escaped).
func ArtifactDownloadURL(ns, model, version, name string) string {
	return "/api/v1" + registry.ArtifactPath(registry.Owner{Ref: registry.Ref{Namespace: ns, Model: model, Version: version}}, name)
}

// Paging.

// pageParams are the query parameters of a paged list: "page" and "size",
// or with a prefix for a second list on the same page ("epage", "esize").
func pageParams(prefix string) (pageKey, sizeKey string) { return prefix + "page", prefix + "size" }

// PageRequest reads the page and size of a list from the URL (defaults 1
// and registry.DefaultPageSize); numbers that do not parse are a 400 page,
// numbers out of range the registry's 422. prefix tells lists on the same
// page apart ("" for the main one).
func PageRequest(r *http.Request, prefix string) (registry.PageRequest, error) {
	pk, sk := pageParams(prefix)
	q := r.URL.Query()
	p := registry.PageRequest{Page: 1, Size: registry.DefaultPageSize}
	for key, dst := range map[string]*int64{pk: &p.Page, sk: &p.Size} {
		if s := q.Get(key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return p, Errorf(api.ProblemMalformedRequest, "query parameter %s must be an integer, not %q", key, s)
			}
			*dst = n
		}
	}
	return p, nil
}

// Pager is what the "pager" component shows of a page of a list: where it
// is, and the links to the previous and next pages ("" at either end),
// which keep every other query parameter (the filters).
type Pager struct {
	Page, Size, TotalItems, TotalPages int64
	Prev, Next                         string
}

// NewPager is the Pager of p, a page of the list that PageRequest(r,
// prefix) asked for.
func NewPager[T any](r *http.Request, prefix string, p registry.Page[T]) Pager {
	pk, _ := pageParams(prefix)
	pg := Pager{Page: p.Page, Size: p.Size, TotalItems: p.TotalItems, TotalPages: p.TotalPages}
	if p.Page > 1 {
		pg.Prev = Link(r.URL, pk, strconv.FormatInt(min(p.Page-1, max(p.TotalPages, 1)), 10))
	}
	if p.Page < p.TotalPages {
		pg.Next = Link(r.URL, pk, strconv.FormatInt(p.Page+1, 10))
	}
	return pg
}

// Link is u (path and query) with the query parameter key set to value,
// or removed when value is "", and every other parameter kept. Changing
// anything but a page number starts over at page 1 (drops "page" and the
// prefixed page parameters of the other lists, "epage").
func Link(u *url.URL, key, value string) string {
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	if !strings.HasSuffix(key, "page") {
		for k := range q {
			if strings.HasSuffix(k, "page") {
				q.Del(k)
			}
		}
	}
	out := url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: q.Encode()}
	return out.String()
}

// Sorting.

// Sort is a list's order from ?sort=: a key of a whitelist, "-key" for
// descending.
type Sort struct {
	Key  string
	Desc bool
}

// String is the ?sort= value of s.
func (s Sort) String() string {
	if s.Desc {
		return "-" + s.Key
	}
	return s.Key
}

// ReadSort reads ?sort= against the keys a list allows; none gives def, a
// key not allowed is a 400 page.
func ReadSort(r *http.Request, allowed []string, def Sort) (Sort, error) {
	v := r.URL.Query().Get("sort")
	if v == "" {
		return def, nil
	}
	s := Sort{Key: strings.TrimPrefix(v, "-"), Desc: strings.HasPrefix(v, "-")}
	if !slices.Contains(allowed, s.Key) {
		return def, Errorf(api.ProblemMalformedRequest, "query parameter sort must be one of %s (with - for descending), not %q", strings.Join(allowed, ", "), v)
	}
	return s, nil
}

// SortLink is the link that sorts by key: ascending, or descending when
// the list is already sorted ascending by it.
func SortLink(u *url.URL, current Sort, key string) string {
	next := Sort{Key: key, Desc: current.Key == key && !current.Desc}
	return Link(u, "sort", next.String())
}

// Display.

// HumanBytes writes a size in binary units: 512 B, 1.5 KiB, 20.0 MiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Ago writes how long before now t was, in the largest whole unit: "just
// now", "5 minutes ago", "3 days ago"; a time in the future is "in …".
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
	}
	var n int64
	var u string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		n, u = int64(d/time.Minute), "minute"
	case d < 24*time.Hour:
		n, u = int64(d/time.Hour), "hour"
	case d < 30*24*time.Hour:
		n, u = int64(d/(24*time.Hour)), "day"
	case d < 365*24*time.Hour:
		n, u = int64(d/(30*24*time.Hour)), "month"
	default:
		n, u = int64(d/(365*24*time.Hour)), "year"
	}
	if n != 1 {
		u += "s"
	}
	if suffix == "" {
		return fmt.Sprintf("in %d %s", n, u)
	}
	return fmt.Sprintf("%d %s%s", n, u, suffix)
}

// markdown renders descriptions. goldmark without WithUnsafe writes no
// link or image to a dangerous URL (javascript:, vbscript:, file:, data:
// but images); raw HTML in a description is shown as the text it is
// (literalHTML), as every other user text is, rather than dropped.
var markdown = goldmark.New(goldmark.WithRendererOptions(
	renderer.WithNodeRenderers(util.Prioritized(literalHTML{}, 100)))) // before goldmark's HTML renderer (1000)

// literalHTML renders the raw HTML of a Markdown text (blocks and inline)
// escaped: `<script>alert(1)</script>` reads as itself and runs nothing.
type literalHTML struct{}

func (literalHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		b := n.(*ast.HTMLBlock)
		_, _ = w.WriteString("<p>")
		for i := 0; i < b.Lines().Len(); i++ {
			line := b.Lines().At(i)
			template.HTMLEscape(w, line.Value(src))
		}
		if b.HasClosure() {
			template.HTMLEscape(w, b.ClosureLine.Value(src))
		}
		_, _ = w.WriteString("</p>\n")
		return ast.WalkContinue, nil
	})
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			for i := 0; i < segs.Len(); i++ {
				seg := segs.At(i)
				template.HTMLEscape(w, seg.Value(src))
			}
		}
		return ast.WalkSkipChildren, nil
	})
}

// Markdown renders a description as HTML: the one template.HTML of user
// text the UI makes (see markdown).
func Markdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(buf.String()) // #nosec: goldmark's safe mode, see markdown
}

// KV is one member of a JSON object (an experiment's params or metrics),
// its value written as JSON text.
type KV struct {
	Key, Value string
}

// JSONMembers lists the members of a JSON object by key; a value that is
// not an object is one member with key "".
func JSONMembers(raw json.RawMessage) []KV {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []KV{{Value: string(raw)}}
	}
	out := make([]KV, 0, len(obj))
	for k, v := range obj {
		out = append(out, KV{Key: k, Value: string(v)})
	}
	slices.SortFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Empty is what the "empty" component shows for a list with nothing in
// it: what is missing, and the command that adds it.
type Empty struct {
	Message string
	Command string
}

// ShellQuote writes s as one word of a POSIX shell command, for the CLI
// hints: as it is when it holds only safe characters, else in single
// quotes.
func ShellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-+:@/=", c))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TagList is what the "tags" component shows: tag names, each a link to
// the list at URL filtered by it.
type TagList struct {
	URL  *url.URL
	Tags []string
}

// lifecycleClass is the CSS class of a lifecycle badge (known states only).
func lifecycleClass(state string) string {
	s := string(api.CanonicalLifecycle(state))
	if slices.Contains(registry.Lifecycles, api.Lifecycle(s)) || slices.Contains(api.ExperimentStates, api.ExperimentState(s)) {
		return "badge badge-" + s
	}
	return "badge"
}

// funcs are the functions every template may call.
func (u *ui) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string {
			if p, ok := u.assetURL[name]; ok {
				return p
			}
			panic("web: no asset " + name)
		},
		// compare.go, metrics.go (the compare, metrics and API pages)
		"shortDigest": ShortDigest,
		"compareURL":  CompareURL,
		"metricsURL":  MetricsURL,
		"nsURL":       NamespaceURL,
		"modelURL":    ModelURL,
		"versionURL":  VersionURL,
		"downloadURL": ArtifactDownloadURL,
		"signInURL":   signInURL,
		"link":        Link,
		"sortLink":    SortLink,
		"sh":          ShellQuote,
		"bytes":       HumanBytes,
		"ago":         func(t time.Time) string { return Ago(t, time.Now()) },
		"rfc3339":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"absolute":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"markdown":    Markdown,
		"members":     JSONMembers,
		"empty":       func(msg, cmd string) Empty { return Empty{Message: msg, Command: cmd} },
		"badgeClass":  lifecycleClass,
		"duration": func(ms *int64) string {
			if ms == nil {
				return "—"
			}
			return (time.Duration(*ms) * time.Millisecond).String()
		},
		"inc":    func(i int) int { return i + 1 },
		"tagsIn": func(u *url.URL, tags []string) TagList { return TagList{URL: u, Tags: tags} },
		"withQuery": func(base, key, value string) string {
			return base + "?" + url.Values{key: {value}}.Encode()
		},
		"derefs": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"deref": func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return *t
		},
	}
}
