package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// newGatedSite is newSite with promotion gates.
func newGatedSite(t *testing.T, gates map[string]registry.Gate) *site {
	t.Helper()
	reg, s := newRegistry(t, gates)
	authn := auth.New(auth.Options{DB: s, Loopback: true})
	ui := web.New(reg, authn, web.Options{Version: "v9.9.9-test"})
	return &site{t: t, reg: reg, h: httpapi.NewServer(reg, authn, httpapi.Options{UI: ui, LoopbackBind: true})}
}

// send sends method target with body (a form when it is url.Values, else
// JSON) and the headers of kv.
func (s *site) send(method, target string, body any, kv ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var req *http.Request
	switch b := body.(type) {
	case url.Values:
		req = httptest.NewRequest(method, target, strings.NewReader(b.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case nil:
		req = httptest.NewRequest(method, target, nil)
	default:
		j, _ := json.Marshal(b)
		req = httptest.NewRequest(method, target, strings.NewReader(string(j)))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Host = "localhost:9009"
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// csrf gets the version page at target (with the headers of kv) and
// returns the headers a form post from it sends: its CSRF cookie, and the
// form field's value.
func (s *site) csrf(target string, kv ...string) (cookie, field string) {
	s.t.Helper()
	rec := s.get(target, kv...)
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.CSRFCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if cookie == "" || m == nil {
		s.t.Fatalf("no CSRF cookie or field on %s: %d\n%s", target, rec.Code, rec.Body.String())
	}
	return cookie, m[1]
}

// promote posts the promotion form of the version page at page to to,
// with a valid CSRF token, as the principal of kv's headers.
func (s *site) promote(page, to string, kv ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	cookie, field := s.csrf(page, kv...)
	return s.send(http.MethodPost, page+"/state", url.Values{"csrf": {field}, "to": {to}}, append(kv, "Cookie", cookie)...)
}

func (s *site) state(ref registry.Ref) string {
	s.t.Helper()
	v, err := s.reg.GetVersion(context.Background(), ref)
	if err != nil {
		s.t.Fatal(err)
	}
	return v.State
}

// gateCard is the promotion card of lifecycle to on a version page.
func gateCard(t *testing.T, body, to string) string {
	t.Helper()
	i := strings.Index(body, `data-to="`+to+`"`)
	if i < 0 {
		t.Fatalf("no gate card for %s:\n%s", to, body)
	}
	i = strings.LastIndex(body[:i], `<li class="gate`)
	j := strings.Index(body[i:], "</form>")
	return body[i : i+j]
}

func TestVersionPage(t *testing.T) {
	s := newSite(t)
	ref := s.seed()
	ctx := context.Background()
	must[registry.Tag](t)(s.reg.CreateTag(ctx, "team", registry.NewTag{Tag: "candidate"}))
	if err := s.reg.TagVersion(ctx, ref, "candidate", false); err != nil {
		t.Fatal(err)
	}
	desc := "Fine-tuned **twice**. <script>alert(1)</script>"
	if _, err := s.reg.UpdateVersion(ctx, ref, registry.VersionChange{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	v := must[registry.Version](t)(s.reg.GetVersion(ctx, ref))
	a := must[registry.Page[registry.Artifact]](t)(s.reg.ListArtifacts(ctx, registry.Owner{Ref: ref}, registry.PageRequest{Page: 1, Size: 10})).Items[0]

	body := page(t, s.get("/ns/team/models/clf/versions/v1"), http.StatusOK)
	contains(t, body,
		// artifacts
		"weights/model.onnx", "3.5 KiB", `title="3584 bytes"`, `data-copy="`+a.SHA256+`"`, a.ContentType,
		`class="download" href="/api/v1/namespaces/team/models/clf/versions/v1/artifacts/weights/model.onnx" download`,
		`class="archive" href="/api/v1/namespaces/team/models/clf/versions/v1/archive"`,
		// experiments
		">eval<", `badge badge-passed`, "1m30s", "<dt>lr</dt><dd><code>0.01</code>", "<dt>accuracy</dt><dd><code>0.93</code>",
		// history: created in test, moved to qa, by whom
		`created in <span class="badge badge-test">test</span>`,
		`<span class="badge badge-test">test</span> → <span class="badge badge-qa">qa</span>`, `<span class="actor">system</span>`,
		// the version's facts
		`data-copy="`+v.Digest+`"`, `>candidate</a>`, "<strong>twice</strong>", "sealed",
	)
	if strings.Contains(body, "<script>alert") {
		t.Error("the description's raw HTML reached the page")
	}
	// The archive and download links answer.
	if rec := s.get("/api/v1/namespaces/team/models/clf/versions/v1/archive"); rec.Code != http.StatusOK {
		t.Errorf("archive: %d", rec.Code)
	}
	// An anonymous laptop principal has write: the control is there, with
	// a form per other lifecycle.
	contains(t, body, `id="promote"`, `action="/ns/team/models/clf/versions/v1/state"`)
	for _, to := range []string{"test", "stage", "prod"} {
		contains(t, gateCard(t, body, to), `name="to" value="`+to+`"`, "No gate.", "ready")
	}
	if strings.Contains(body, `data-to="qa"`) {
		t.Error("a card offers the lifecycle the version is in")
	}
	// ?moved= shows only for the state the version is in.
	contains(t, page(t, s.get("/ns/team/models/clf/versions/v1?moved=qa"), http.StatusOK), `class="notice notice-ok"`)
	for _, q := range []string{"?moved=prod", "?moved=%3Cb%3E"} {
		if strings.Contains(page(t, s.get("/ns/team/models/clf/versions/v1"+q), http.StatusOK), "notice-ok") {
			t.Errorf("%s: a confirmation of a move that did not happen", q)
		}
	}
	if strings.Contains(body, `id="metadata"`) || strings.Contains(body, "Made from") {
		t.Error("a version without metadata or parents shows them")
	}
	// A version without artifacts or experiments says what to do; its
	// parents and metadata (escaped) show.
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", "clf", registry.NewVersion{Version: "v2",
		Metadata: json.RawMessage(`{"license":"mit","x":"<b>"}`), Parents: []api.ParentRef{{Version: "v1", Relation: "fine-tuned"}}}))
	contains(t, page(t, s.get("/ns/team/models/clf/versions/v2"), http.StatusOK), "Made from",
		`<a href="/ns/team/models/clf/versions/v1">team/clf/v1</a> <span class="muted">(fine-tuned)</span>`,
		"<dt>license</dt><dd><code>&#34;mit&#34;</code></dd>", "<code>&#34;&lt;b&gt;&#34;</code>")
	contains(t, page(t, s.get("/ns/team/models/clf/versions/v2"), http.StatusOK), "No artifacts yet.", "flymodel upsert --namespace team --model clf --version v2",
		"No experiments yet", "POST /api/v1/namespaces/team/models/clf/versions/v2/experiments")
}

func TestVersionPaging(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "p"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "p", "m"))
	ref := registry.Ref{Namespace: "p", Model: "m", Version: "v"}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "p", "m", registry.NewVersion{Version: "v"}))
	for i := range 3 {
		name := fmt.Sprintf("art%d", i)
		if _, _, err := s.reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: name}, strings.NewReader(name)); err != nil {
			t.Fatal(err)
		}
		must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: fmt.Sprintf("exp%d", i)}))
	}
	first := page(t, s.get("/ns/p/models/m/versions/v?size=2&esize=2"), http.StatusOK)
	contains(t, first, ">art0<", ">art1<", ">exp0<", ">exp1<",
		`href="/ns/p/models/m/versions/v?esize=2&amp;page=2&amp;size=2"`, `href="/ns/p/models/m/versions/v?epage=2&amp;esize=2&amp;size=2"`)
	for _, no := range []string{">art2<", ">exp2<"} {
		if strings.Contains(first, no) {
			t.Errorf("page 1 shows %s", no)
		}
	}
	second := page(t, s.get("/ns/p/models/m/versions/v?size=2&esize=2&epage=2"), http.StatusOK)
	contains(t, second, ">art0<", ">exp2<")
	if strings.Contains(second, ">exp0<") {
		t.Error("experiments page 2 shows exp0")
	}
	// The one-time confirmation is not carried by the page's links.
	moved := page(t, s.get("/ns/p/models/m/versions/v?size=2&moved=test"), http.StatusOK)
	contains(t, moved, "notice-ok", `href="/ns/p/models/m/versions/v?page=2&amp;size=2"`)
	if strings.Contains(moved, "moved=") {
		t.Error("a link keeps ?moved=")
	}
	page(t, s.get("/ns/p/models/m/versions/v?epage=x"), http.StatusBadRequest)
	page(t, s.get("/ns/p/models/m/versions/v?esize=0"), http.StatusUnprocessableEntity)
}

func TestVersionGatePreview(t *testing.T) {
	s := newGatedSite(t, map[string]registry.Gate{
		"prod":  {Require: []string{"eval", "bench"}},
		"stage": {RequireAllPassed: true},
	})
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "team"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "team", "clf"))
	ref := registry.Ref{Namespace: "team", Model: "clf", Version: "v1"}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", "clf", registry.NewVersion{Version: "v1"}))
	target := "/ns/team/models/clf/versions/v1"

	// No experiments: stage wants every one passed and there are none;
	// prod misses both; qa has no gate.
	body := page(t, s.get(target), http.StatusOK)
	contains(t, gateCard(t, body, "qa"), "No gate.", "ready", "gate-ok")
	contains(t, gateCard(t, body, "stage"), "Requires every experiment passed.", "The version has no experiments.", "blocked")
	prod := gateCard(t, body, "prod")
	contains(t, prod, "<code>eval</code>, <code>bench</code>", `class="bad missing">Missing: <code>eval</code>, <code>bench</code>`, "blocked", "gate-blocked")

	// eval running: not passed (with its state), bench still missing.
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "running"}))
	body = page(t, s.get(target), http.StatusOK)
	prod = gateCard(t, body, "prod")
	contains(t, prod, `Missing: <code>bench</code>`, `Not passed: <code>eval</code> <span class="badge badge-running">running</span>`, "blocked")
	contains(t, gateCard(t, body, "stage"), `Not passed: <code>eval</code>`, "blocked")

	// Both passed: the gates are met.
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "passed"}))
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "bench"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "bench", registry.ExperimentUpdate{State: "running"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "bench", registry.ExperimentUpdate{State: "passed"}))
	body = page(t, s.get(target), http.StatusOK)
	for _, to := range []string{"stage", "prod"} {
		card := gateCard(t, body, to)
		contains(t, card, "Gate met.", "ready", "gate-ok")
		if strings.Contains(card, "Missing") || strings.Contains(card, "Not passed") {
			t.Errorf("%s: a met gate lists what is missing:\n%s", to, card)
		}
	}
}

func TestVersionPromote(t *testing.T) {
	s := newGatedSite(t, map[string]registry.Gate{"prod": {Require: []string{"eval"}}})
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "team"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "team", "clf"))
	ref := registry.Ref{Namespace: "team", Model: "clf", Version: "v1"}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", "clf", registry.NewVersion{Version: "v1"}))
	target := "/ns/team/models/clf/versions/v1"
	history := func() int {
		return len(must[[]registry.StateChange](t)(s.reg.VersionHistory(ctx, ref)))
	}

	// Refused by the gate: 409, the page again with the problem in
	// context, nothing changed.
	rec := s.promote(target, "prod")
	body := page(t, rec, http.StatusConflict)
	contains(t, body, `class="notice notice-error" role="alert"`, "the move to prod was refused; nothing changed", "eval", `id="promote"`,
		"gate-refused", `<a href="/ns/team/models/clf/versions/v1" aria-current="page">`)
	if strings.Contains(body, `/state?`) {
		t.Error("a link of the refusal page points at the form's POST path")
	}
	if got := s.state(ref); got != "test" || history() != 1 {
		t.Fatalf("after a refusal the version is %s with %d history entries", got, history())
	}
	// Not a lifecycle: 422 in context.
	contains(t, page(t, s.promote(target, "bogus"), http.StatusUnprocessableEntity), "notice-error", "state")

	// Accepted: 303 back to the page, which confirms.
	rec = s.promote(target, "qa")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != target+"?moved=qa" {
		t.Fatalf("promote to qa: %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	if s.state(ref) != "qa" || history() != 2 {
		t.Fatalf("after the move the version is %s", s.state(ref))
	}
	contains(t, page(t, s.get(rec.Header().Get("Location")), http.StatusOK), "Moved to", `badge badge-qa">qa`)

	// The gate met, prod is accepted.
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "running"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "passed"}))
	if rec := s.promote(target, "prod"); rec.Code != http.StatusSeeOther || s.state(ref) != "prod" {
		t.Fatalf("promote to prod: %d, state %s\n%s", rec.Code, s.state(ref), rec.Body.String())
	}

	// A missing version is the 404 page.
	cookie, field := s.csrf(target)
	page(t, s.send(http.MethodPost, "/ns/team/models/clf/versions/v9/state", url.Values{"csrf": {field}, "to": {"qa"}}, "Cookie", cookie), http.StatusNotFound)
	// GET on the form's path is not a page.
	if rec := s.get(target + "/state"); rec.Code < 400 {
		t.Errorf("GET …/state: %d", rec.Code)
	}
}

// TestVersionPromoteCSRF: a form without the token, or with another, is
// 403 and changes nothing.
func TestVersionPromoteCSRF(t *testing.T) {
	s := newSite(t)
	ref := s.seed()
	target := "/ns/team/models/clf/versions/v1"
	cookie, field := s.csrf(target)
	for name, c := range map[string]struct {
		form   url.Values
		cookie string
	}{
		"no field":     {url.Values{"to": {"prod"}}, cookie},
		"empty field":  {url.Values{"to": {"prod"}, "csrf": {""}}, cookie},
		"wrong field":  {url.Values{"to": {"prod"}, "csrf": {field + "x"}}, cookie},
		"no cookie":    {url.Values{"to": {"prod"}, "csrf": {field}}, ""},
		"other cookie": {url.Values{"to": {"prod"}, "csrf": {field}}, web.CSRFCookie + "=" + strings.Repeat("a", 26)},
	} {
		t.Run(name, func(t *testing.T) {
			var kv []string
			if c.cookie != "" {
				kv = []string{"Cookie", c.cookie}
			}
			contains(t, page(t, s.send(http.MethodPost, target+"/state", c.form, kv...), http.StatusForbidden), "security token")
			if got := s.state(ref); got != "qa" {
				t.Fatalf("the version moved to %s", got)
			}
		})
	}
}

// TestVersionPromoteNeedsWrite: a reader sees no control and a forged
// post (with a valid CSRF token) is 403; an anonymous caller is sent to
// sign in; neither changes anything.
func TestVersionPromoteNeedsWrite(t *testing.T) {
	s := newSite(t)
	ref := s.seed()
	ctx := context.Background()
	_, reader, err := s.reg.CreateToken(ctx, registry.NewToken{Name: "reader", Role: "read", Namespaces: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	target := "/ns/team/models/clf/versions/v1"
	bearer := []string{"Authorization", "Bearer " + reader}
	body := page(t, s.get(target, bearer...), http.StatusOK)
	for _, no := range []string{`id="promote"`, "/state", "Move to"} {
		if strings.Contains(body, no) {
			t.Errorf("a reader's page holds %q", no)
		}
	}
	// A valid CSRF pair from some page (the reader's pages carry none: take
	// the layout's cookie from another page of theirs).
	rec := s.get("/", bearer...)
	var cookie string
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.CSRFCookie {
			cookie = c.Value
		}
	}
	if cookie == "" {
		cookie = strings.Repeat("b", 26)
	}
	form := url.Values{"csrf": {cookie}, "to": {"prod"}}
	contains(t, page(t, s.send(http.MethodPost, target+"/state", form, append(bearer, "Cookie", web.CSRFCookie+"="+cookie)...), http.StatusForbidden),
		"needs the write role in namespace team")
	// Anonymous (a token exists now: no anonymous access): to sign in,
	// coming back to the page.
	rec = s.send(http.MethodPost, target+"/state", form, "Cookie", web.CSRFCookie+"="+cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/signin?next="+url.QueryEscape(target) {
		t.Errorf("anonymous: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if got := s.state(ref); got != "qa" {
		t.Fatalf("the version moved to %s", got)
	}
	// The reader's refused form is audited as the API audits a refused
	// change: denied, by the reader (the anonymous one is not).
	items, _, err := s.reg.Audit(ctx, audit.Filter{Outcome: "denied"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Actor != "reader" || items[0].Action != "request.post" ||
		items[0].Namespace != "team" || items[0].Target != target+"/state" {
		t.Errorf("denied records: %+v", items)
	}
}

// TestVersionPromoteAudit: a move through the UI is audited as the API's
// PUT …/state is: same action, actor, namespace, outcome, detail, and the
// version's API path as target.
func TestVersionPromoteAudit(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "team"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "team", "clf"))
	for _, v := range []string{"ui", "api"} {
		must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", "clf", registry.NewVersion{Version: v}))
	}
	_, writer, err := s.reg.CreateToken(ctx, registry.NewToken{Name: "deployer", Role: "write", Namespaces: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	bearer := []string{"Authorization", "Bearer " + writer}

	if rec := s.promote("/ns/team/models/clf/versions/ui", "qa", bearer...); rec.Code != http.StatusSeeOther {
		t.Fatalf("UI move: %d\n%s", rec.Code, rec.Body.String())
	}
	if rec := s.send(http.MethodPut, "/api/v1/namespaces/team/models/clf/versions/api/state", map[string]string{"state": "qa"}, bearer...); rec.Code != http.StatusOK {
		t.Fatalf("API move: %d\n%s", rec.Code, rec.Body.String())
	}
	records, _, err := s.reg.Audit(ctx, audit.Filter{Namespace: "team", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string]audit.Item{}
	for _, r := range records {
		if r.Actor == "deployer" {
			byTarget[r.Target] = r
		}
	}
	ui, ok1 := byTarget[registry.VersionPath("team", "clf", "ui")]
	api, ok2 := byTarget[registry.VersionPath("team", "clf", "api")]
	if !ok1 || !ok2 {
		t.Fatalf("no audit record of both moves: %+v", records)
	}
	if ui.Action != api.Action || ui.Actor != api.Actor || ui.Namespace != api.Namespace || ui.Outcome != api.Outcome ||
		string(ui.Detail) != string(api.Detail) || ui.RequestID == "" {
		t.Errorf("the UI's record differs from the API's:\nUI:  %+v\nAPI: %+v", ui, api)
	}
	if ui.Action != "version.state" && !strings.HasPrefix(ui.Action, "version.") {
		t.Errorf("action %q", ui.Action)
	}
}

// TestVersionHostileText: names, metric keys and params are text.
func TestVersionHostileText(t *testing.T) {
	s := newGatedSite(t, map[string]registry.Gate{"prod": {Require: []string{hostile}}})
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "team"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "team", hostile))
	ref := registry.Ref{Namespace: "team", Model: hostile, Version: hostile}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", hostile, registry.NewVersion{Version: hostile}))
	if _, _, err := s.reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: hostile}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: hostile,
		Params: json.RawMessage(`{"<img src=x onerror=alert(2)>":"<script>alert(3)</script>"}`)}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, hostile, registry.ExperimentUpdate{State: "running"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, hostile, registry.ExperimentUpdate{State: "failed",
		Metrics: json.RawMessage(`{"<svg onload=alert(4)>":1}`)}))
	target := web.VersionURL("team", hostile, hostile)
	body := page(t, s.get(target), http.StatusOK)
	refused := page(t, s.promote(target, "prod"), http.StatusConflict)
	for _, b := range []string{body, refused} {
		for _, raw := range []string{hostile, "<img src=x onerror=alert(2)>", "<script>alert(3)", "<svg onload"} {
			if strings.Contains(b, raw) {
				t.Errorf("%q written as HTML", raw)
			}
		}
		contains(t, b, "&lt;img src=x onerror=alert(1)&gt;", "&lt;svg onload=alert(4)&gt;", "&lt;img src=x onerror=alert(2)&gt;")
	}
	contains(t, gateCard(t, body, "prod"), `Not passed: <code>&lt;img src=x onerror=alert(1)&gt;</code> <span class="badge badge-failed">failed</span>`)
}

// The version page takes a selector: it shows the version an alias or a
// lifecycle names now, and a selector that names nothing is a 404 page
// saying what is missing.
func TestVersionPageSelector(t *testing.T) {
	s := newSite(t)
	ref := s.seed()
	ctx := context.Background()
	must[registry.Alias](t)(s.reg.SetAlias(ctx, ref.Namespace, ref.Model, "champion", ref.Version))
	for _, sel := range []string{"@champion", "@qa"} {
		body := page(t, s.get("/ns/team/models/clf/versions/"+sel), http.StatusOK)
		contains(t, body, `href="/api/v1/namespaces/team/models/clf/versions/v1/archive"`,
			`<a class="alias" href="/ns/team/models/clf/versions/@champion"`)
	}
	contains(t, page(t, s.get("/ns/team/models/clf"), http.StatusOK), `<a class="alias" href="/ns/team/models/clf/versions/@champion">@champion</a>`)
	body := page(t, s.get("/ns/team/models/clf/versions/@nope"), http.StatusNotFound)
	contains(t, body, "no alias nope on team/clf")
	body = page(t, s.get("/ns/team/models/clf/versions/@prod"), http.StatusNotFound)
	contains(t, body, "no version of team/clf is in prod")
}
