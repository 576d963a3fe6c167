package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
)

// Alias is a model's alias as the API shows it.
type Alias = api.Alias

// AliasChange is one entry of an alias's history.
type AliasChange = api.AliasChange

// AliasRule protects one alias name (of every model), from the server's
// configuration (aliases.protected): moving or deleting the alias needs
// Role in the model's namespace ("" leaves it to write, as for any alias),
// and its target must be in Lifecycle ("" for any).
type AliasRule struct {
	Name      string
	Role      string
	Lifecycle string
}

// String names the rule as the configuration writes it.
func (r AliasRule) String() string {
	var parts []string
	if r.Role != "" {
		parts = append(parts, fmt.Sprintf("role = %q", r.Role))
	}
	if r.Lifecycle != "" {
		parts = append(parts, fmt.Sprintf("lifecycle = %q", r.Lifecycle))
	}
	return fmt.Sprintf("aliases.protected %q (%s)", r.Name, strings.Join(parts, ", "))
}

// RoleCheck reports whether the caller of a request holds role (read,
// write or admin) in namespace ns.
type RoleCheck func(ns, role string) bool

type roleCheckKey struct{}

// WithRoleCheck returns ctx carrying the caller's role check, which the
// rules of protected aliases consult. A ctx without one (the server's
// own work, commands run on its host) holds every role.
func WithRoleCheck(ctx context.Context, check RoleCheck) context.Context {
	return context.WithValue(ctx, roleCheckKey{}, check)
}

func hasRole(ctx context.Context, ns, role string) bool {
	check, ok := ctx.Value(roleCheckKey{}).(RoleCheck)
	return !ok || check == nil || check(ns, role)
}

// AliasForbiddenError is a change of a protected alias by a caller
// without the role its rule names (HTTP 403); nothing changed.
type AliasForbiddenError struct {
	Path      string
	Namespace string
	Rule      AliasRule
}

func (e *AliasForbiddenError) Error() string {
	return fmt.Sprintf("alias %s is protected by %s: moving or deleting it needs the %s role in namespace %q",
		e.Path, e.Rule, e.Rule.Role, e.Namespace)
}

// Is makes errors.Is(err, api.ErrForbidden) true.
func (e *AliasForbiddenError) Is(target error) bool { return target == api.ErrForbidden }

// AliasProtectedError is a protected alias set to a version outside the
// lifecycle its rule names (HTTP 409); nothing changed.
type AliasProtectedError struct {
	Path    string // the alias
	Version string // the version's path
	State   string // the version's lifecycle
	Rule    AliasRule
}

func (e *AliasProtectedError) Error() string {
	return fmt.Sprintf("alias %s is protected by %s: it may only point to a version in %s, and %s is in %s",
		e.Path, e.Rule, e.Rule.Lifecycle, e.Version, e.State)
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *AliasProtectedError) Is(target error) bool { return target == api.ErrConflict }

func aliasPath(ns, model, alias string) string {
	return modelPath(ns, model) + "/aliases/" + url.PathEscape(alias)
}

// AliasPath is the API path of a model's alias.
func AliasPath(ns, model, alias string) string { return aliasPath(ns, model, alias) }

// ValidateAliasName checks a new alias name: the rules of every name
// (ValidateName), not a lifecycle, not starting with '@'.
func ValidateAliasName(name string) error {
	if err := api.ValidateAliasName(name); err != nil {
		return err
	}
	return ValidateName(name)
}

// ValidateVersionName checks a new version name: the rules of every name
// (ValidateName), not starting with '@' (which marks a selector).
func ValidateVersionName(name string) error {
	if api.IsSelector(name) {
		return fmt.Errorf("must not start with %q (it marks a version selector: %s<lifecycle> or %s<alias>)",
			api.SelectorPrefix, api.SelectorPrefix, api.SelectorPrefix)
	}
	return ValidateName(name)
}

// aliasRule is the rule protecting alias, if any.
func (r *Registry) aliasRule(alias string) (AliasRule, bool) {
	for _, rule := range r.aliasRules {
		if rule.Name == alias {
			return rule, true
		}
	}
	return AliasRule{}, false
}

// checkAliasRole refuses a change (action) of a protected alias by a
// caller without its rule's role, recording the refusal in the audit log
// (outcome denied), as a route's refusal for want of a role is.
func (r *Registry) checkAliasRole(ctx context.Context, action, ns, model, alias string) error {
	rule, ok := r.aliasRule(alias)
	if !ok || rule.Role == "" || hasRole(ctx, ns, rule.Role) {
		return nil
	}
	path := aliasPath(ns, model, alias)
	if err := r.write(ctx, func(q db.Queries) error {
		return audit.RecordDenied(ctx, q, r.now(), audit.Entry{Action: action, Namespace: ns, Target: path,
			Detail: map[string]string{"rule": rule.String()}})
	}); err != nil {
		return err
	}
	return &AliasForbiddenError{Path: path, Namespace: ns, Rule: rule}
}

// ResolveVersion returns the version selector names in a model: a version
// name; "@<lifecycle>" ("@staging" is "@stage") for the newest version now
// in that lifecycle (the first of the model's versions in it as they are
// listed, newest first); "@<alias>" for the version the alias points to.
// A selector that names nothing is a NotFoundError saying what is missing.
func (r *Registry) ResolveVersion(ctx context.Context, ns, model, selector string) (Version, error) {
	res, err := r.resolveVersion(ctx, r.db, Ref{Namespace: ns, Model: model, Version: selector})
	if err != nil {
		return Version{}, err
	}
	return withTags(ctx, r.db, toVersion(ns, model)(res.version), nil)
}

// resolveVersion is version, with ref.Version possibly a selector.
func (r *Registry) resolveVersion(ctx context.Context, q db.Queries, ref Ref) (resolved, error) {
	if !api.IsSelector(ref.Version) {
		return r.version(ctx, q, ref)
	}
	res, err := r.model(ctx, q, ref.Namespace, ref.Model)
	if err != nil {
		return resolved{}, err
	}
	missing := func(format string, args ...any) error {
		return &NotFoundError{Kind: "version", Path: ref.path(), Detail: fmt.Sprintf(format, args...)}
	}
	name := strings.TrimPrefix(ref.Version, api.SelectorPrefix)
	var row db.ModelVersion
	if lc, ok := api.SelectorLifecycle(ref.Version); ok {
		rows, err := q.ListVersionsInState(ctx, db.ListVersionsInStateParams{ModelID: res.model.ID, State: lc, PageOffset: 0, PageLimit: 1})
		if err != nil {
			return resolved{}, err
		}
		if len(rows) == 0 {
			return resolved{}, missing("no version of %s/%s is in %s", ref.Namespace, ref.Model, lc)
		}
		row = rows[0]
	} else {
		if ValidateNameRef(name) != nil {
			return resolved{}, missing("no alias %s on %s/%s", name, ref.Namespace, ref.Model)
		}
		a, err := q.GetAlias(ctx, db.GetAliasParams{ModelID: res.model.ID, Alias: name})
		if errors.Is(err, db.ErrNotFound) {
			return resolved{}, missing("no alias %s on %s/%s", name, ref.Namespace, ref.Model)
		}
		if err != nil {
			return resolved{}, err
		}
		if row, err = q.GetVersion(ctx, a.VersionID); err != nil {
			return resolved{}, notFound(err, "version", ref.path())
		}
		if row.DeletedAt != nil { // aliases leave with their version; never shown deleted
			return resolved{}, missing("no alias %s on %s/%s", name, ref.Namespace, ref.Model)
		}
	}
	return resolved{ns: res.ns, model: res.model, version: row}, nil
}

// ResolveRef returns ref with its version named: a selector is resolved
// (ResolveVersion), a name is returned as it is, unchecked.
func (r *Registry) ResolveRef(ctx context.Context, ref Ref) (Ref, error) {
	if !api.IsSelector(ref.Version) {
		return ref, nil
	}
	res, err := r.resolveVersion(ctx, r.db, ref)
	if err != nil {
		return Ref{}, err
	}
	ref.Version = res.version.Version
	return ref, nil
}

// SetAlias points a model's alias to a version (a name, or a selector
// resolved now), creating the alias or moving it; each change is appended
// to the alias's history and audited (alias.set, from and to). Setting it
// to the version it points to changes nothing. A protected alias needs its
// rule's role, and a target in its rule's lifecycle.
func (r *Registry) SetAlias(ctx context.Context, ns, model, alias, version string) (Alias, error) {
	var v validation
	v.add("alias", ValidateAliasName(alias))
	if version == "" {
		v.addf("version", "must not be empty")
	}
	if err := v.err(); err != nil {
		return Alias{}, err
	}
	if err := r.checkAliasRole(ctx, "alias.set", ns, model, alias); err != nil {
		return Alias{}, err
	}
	var (
		out Alias
		err error
	)
	// Two callers creating the alias at once: the one that loses the
	// unique key tries again, and moves it.
	for round := 0; round < 3; round++ {
		if out, err = r.setAlias(ctx, ns, model, alias, version); !errors.Is(err, errAliasRace) {
			break
		}
	}
	if errors.Is(err, errAliasRace) {
		err = &ConflictError{Kind: "alias", Path: aliasPath(ns, model, alias), Reason: "it kept changing while it was set; retry"}
	}
	return out, err
}

// errAliasRace is an alias created by another caller between the reading
// and the creating of one attempt of SetAlias.
var errAliasRace = errors.New("alias created concurrently")

func (r *Registry) setAlias(ctx context.Context, ns, model, alias, version string) (Alias, error) {
	path := aliasPath(ns, model, alias)
	var out Alias
	err := r.write(ctx, func(q db.Queries) error {
		res, err := r.resolveVersion(ctx, q, Ref{Namespace: ns, Model: model, Version: version})
		if err != nil {
			return err
		}
		target := res.version
		if rule, ok := r.aliasRule(alias); ok && rule.Lifecycle != "" && target.State != rule.Lifecycle {
			return &AliasProtectedError{Path: path, Version: versionPath(ns, model, target.Version), State: target.State, Rule: rule}
		}
		actor, now := callerActor(ctx), r.now()
		cur, err := q.LockAlias(ctx, db.LockAliasParams{ModelID: res.model.ID, Alias: alias})
		var (
			row    db.ModelAlias
			fromID *int64
			from   *string
		)
		switch {
		case errors.Is(err, db.ErrNotFound):
			row, err = q.CreateAlias(ctx, db.CreateAliasParams{ModelID: res.model.ID, Alias: alias, VersionID: target.ID, Now: now, Actor: actor})
			if errors.Is(err, db.ErrConflict) {
				return errAliasRace
			}
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case cur.VersionID == target.ID:
			out = toAlias(ns, model, cur, target.Version)
			return nil
		default:
			prev, err := q.GetVersion(ctx, cur.VersionID)
			if err != nil {
				return err
			}
			fromID, from = &prev.ID, &prev.Version
			if row, err = q.MoveAlias(ctx, db.MoveAliasParams{ID: cur.ID, VersionID: target.ID, Now: now, Actor: actor}); err != nil {
				return err
			}
		}
		out = toAlias(ns, model, row, target.Version)
		to := target.Version
		if _, err := q.CreateAliasChange(ctx, db.CreateAliasChangeParams{ModelID: res.model.ID, Alias: alias,
			FromVersionID: fromID, ToVersionID: &target.ID, FromVersion: from, ToVersion: &to, Actor: actor, Now: now}); err != nil {
			return err
		}
		return r.record(ctx, q, "alias.set", ns, path, map[string]*string{"from": from, "to": &to})
	})
	return out, err
}

func toAlias(ns, model string, a db.ModelAlias, version string) Alias {
	return Alias{Alias: a.Alias, Version: version, Model: model, Namespace: ns, UpdatedAt: a.UpdatedAt.UTC(), UpdatedBy: a.UpdatedBy}
}

// DeleteAlias removes a model's alias, appending the removal (to null) to
// its history; audited as alias.delete. A protected alias needs its
// rule's role.
func (r *Registry) DeleteAlias(ctx context.Context, ns, model, alias string) error {
	path := aliasPath(ns, model, alias)
	if err := r.checkAliasRole(ctx, "alias.delete", ns, model, alias); err != nil {
		return err
	}
	return r.write(ctx, func(q db.Queries) error {
		res, err := r.model(ctx, q, ns, model)
		if err != nil {
			return err
		}
		if ValidateNameRef(alias) != nil {
			return &NotFoundError{Kind: "alias", Path: path}
		}
		cur, err := q.LockAlias(ctx, db.LockAliasParams{ModelID: res.model.ID, Alias: alias})
		if err != nil {
			return notFound(err, "alias", path)
		}
		return r.removeAlias(ctx, q, ns, model, cur, nil)
	})
}

// removeAlias deletes an alias (already read, in q's transaction) and
// appends the removal to its history, audited as alias.delete; reason,
// when set, says why (a deleted version).
func (r *Registry) removeAlias(ctx context.Context, q db.Queries, ns, model string, a db.ModelAlias, reason *string) error {
	prev, err := q.GetVersion(ctx, a.VersionID)
	if err != nil {
		return err
	}
	if _, err := q.DeleteAlias(ctx, a.ID); err != nil {
		return err
	}
	if _, err := q.CreateAliasChange(ctx, db.CreateAliasChangeParams{ModelID: a.ModelID, Alias: a.Alias,
		FromVersionID: &prev.ID, FromVersion: &prev.Version, Actor: callerActor(ctx), Now: r.now()}); err != nil {
		return err
	}
	detail := map[string]*string{"from": &prev.Version, "to": nil}
	if reason != nil {
		detail["reason"] = reason
	}
	return r.record(ctx, q, "alias.delete", ns, aliasPath(ns, model, a.Alias), detail)
}

// dropVersionAliases removes the aliases that point to a version about to
// be deleted (soft or hard), each with its history entry and audit record.
func (r *Registry) dropVersionAliases(ctx context.Context, q db.Queries, ns, model string, versionID int64) error {
	rows, err := q.ListVersionAliases(ctx, versionID)
	if err != nil {
		return err
	}
	reason := "version deleted"
	for _, a := range rows {
		if err := r.removeAlias(ctx, q, ns, model, a, &reason); err != nil {
			return err
		}
	}
	return nil
}

// GetAlias returns one alias of a model.
func (r *Registry) GetAlias(ctx context.Context, ns, model, alias string) (Alias, error) {
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Alias{}, err
	}
	path := aliasPath(ns, model, alias)
	if ValidateNameRef(alias) != nil {
		return Alias{}, &NotFoundError{Kind: "alias", Path: path}
	}
	a, err := r.db.GetAlias(ctx, db.GetAliasParams{ModelID: res.model.ID, Alias: alias})
	if err != nil {
		return Alias{}, notFound(err, "alias", path)
	}
	return toAlias(ns, model, db.ModelAlias{ID: a.ID, ModelID: a.ModelID, Alias: a.Alias, VersionID: a.VersionID,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, UpdatedBy: a.UpdatedBy}, a.Version), nil
}

// ListAliases returns a model's aliases, by name.
func (r *Registry) ListAliases(ctx context.Context, ns, model string) ([]Alias, error) {
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.ListAliases(ctx, res.model.ID)
	if err != nil {
		return nil, err
	}
	return convert(rows, func(a db.ListAliasesRow) Alias {
		return toAlias(ns, model, db.ModelAlias{ID: a.ID, ModelID: a.ModelID, Alias: a.Alias, VersionID: a.VersionID,
			CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, UpdatedBy: a.UpdatedBy}, a.Version)
	}), nil
}

// AliasHistory returns one page of the changes of a model's alias, newest
// first. An alias that never existed is a NotFoundError; a removed one
// keeps its history.
func (r *Registry) AliasHistory(ctx context.Context, ns, model, alias string, page PageRequest) (Page[AliasChange], error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return Page[AliasChange]{}, err
	}
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Page[AliasChange]{}, err
	}
	path := aliasPath(ns, model, alias)
	if ValidateNameRef(alias) != nil {
		return Page[AliasChange]{}, &NotFoundError{Kind: "alias", Path: path}
	}
	total, err := r.db.CountAliasHistory(ctx, db.CountAliasHistoryParams{ModelID: res.model.ID, Alias: alias})
	if err != nil {
		return Page[AliasChange]{}, err
	}
	if total == 0 {
		return Page[AliasChange]{}, &NotFoundError{Kind: "alias", Path: path}
	}
	rows, err := r.db.ListAliasHistory(ctx, db.ListAliasHistoryParams{ModelID: res.model.ID, Alias: alias, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[AliasChange]{}, err
	}
	items := convert(rows, func(h db.AliasHistory) AliasChange {
		return AliasChange{Alias: h.Alias, From: h.FromVersion, To: h.ToVersion, Actor: h.Actor, ChangedAt: h.ChangedAt.UTC()}
	})
	return newPage(items, page, total), nil
}

// withAliases is v with the names of the aliases that point to it.
func withAliases(ctx context.Context, q db.Queries, v Version) (Version, error) {
	rows, err := q.ListVersionAliases(ctx, v.ID)
	if err != nil {
		return Version{}, err
	}
	v.Aliases = make([]string, len(rows))
	for i, a := range rows {
		v.Aliases[i] = a.Alias
	}
	return v, nil
}

// withPageAliases fills in the aliases of a page of versions with one
// query over the range of their ids.
func withPageAliases(ctx context.Context, q db.Queries, vs []Version) error {
	if len(vs) == 0 {
		return nil
	}
	lo, hi, at := idSpan(len(vs), func(i int) int64 { return vs[i].ID })
	rows, err := q.ListVersionAliasesInRange(ctx, db.ListVersionAliasesInRangeParams{Lo: lo, Hi: hi})
	if err != nil {
		return err
	}
	for _, row := range rows {
		if i, ok := at[row.VersionID]; ok {
			vs[i].Aliases = append(vs[i].Aliases, row.Alias)
		}
	}
	return nil
}

// withPageModelAliases fills in the aliases of a page of models with one
// query over the range of their ids.
func withPageModelAliases(ctx context.Context, q db.Queries, ms []*Model) error {
	if len(ms) == 0 {
		return nil
	}
	lo, hi, at := idSpan(len(ms), func(i int) int64 { return ms[i].ID })
	for _, m := range ms {
		m.Aliases = []string{}
	}
	rows, err := q.ListModelAliasesInRange(ctx, db.ListModelAliasesInRangeParams{Lo: lo, Hi: hi})
	if err != nil {
		return err
	}
	for _, row := range rows {
		if i, ok := at[row.ModelID]; ok {
			ms[i].Aliases = append(ms[i].Aliases, row.Alias)
		}
	}
	return nil
}
