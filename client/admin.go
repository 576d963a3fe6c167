package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flymodel/flymodel/api"
)

// The methods of this file manage API tokens and read the audit log; each
// needs an unscoped admin token (ErrForbidden otherwise).

// NewToken is an API token to create: a Name unique among live tokens
// (neither revoked nor expired), its Role (read, write or admin), the
// Namespaces it is limited to (required: names, or ["*"] for every
// namespace; none is ErrValidation), and its lifetime
// from now, ExpiresIn: days ("90d") or a Go duration ("12h"); empty means
// it never expires.
type NewToken = api.TokenCreate

// CreateToken creates an API token and returns it with its secret, which
// the server shows this once. A name taken by a live token is ErrConflict,
// an invalid name, role, namespace or lifetime ErrValidation. It is never
// sent twice: a retry after a lost answer would find the name taken.
func (c *Client) CreateToken(ctx context.Context, t NewToken) (CreatedToken, error) {
	var out CreatedToken
	err := c.doJSON(ctx, http.MethodPost, apiPrefix+"/tokens", nil, t, &out)
	return out, err
}

// ListTokens returns every API token, oldest first, revoked and expired
// ones included; never their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var out api.TokenList
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/tokens", nil, nil, &out)
	return out.Items, err
}

// RevokeToken revokes the live token called name: requests carrying it
// are refused (ErrUnauthorized) from then on. The token stays listed, with
// status revoked, and its name may be given to a new token. No live token
// of that name is ErrNotFound — also the answer of a retry whose first
// attempt revoked the token but lost its answer.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPrefix+"/tokens/"+url.PathEscape(name), nil, nil, nil)
}

// AuditFilter selects audit records; zero fields select everything, and
// the fields that are set must all match.
type AuditFilter struct {
	// Namespace, Actor, Action and Outcome (OutcomeOK or OutcomeDenied)
	// match exactly.
	Namespace, Actor, Action, Outcome string
	// Since keeps the records at or after it, Until those before it.
	Since, Until time.Time
	// After keeps the records with a greater id: a page's Next.
	After int64
	// Limit is the page size, 1 to 1000; 0 is the server's default (100).
	Limit int
}

func (f AuditFilter) values() url.Values {
	q := url.Values{}
	for key, v := range map[string]string{"namespace": f.Namespace, "actor": f.Actor, "action": f.Action, "outcome": f.Outcome} {
		if v != "" {
			q.Set(key, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.After != 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Audit returns one page of the audit log, oldest first: the records f
// selects after f.After, at most f.Limit of them. When more match, the
// page's Next goes in f.After for the following page. A filter value the
// server cannot take (an outcome other than ok or denied, a limit out of
// range) is ErrBadRequest.
func (c *Client) Audit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	var p AuditPage
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/audit", f.values(), nil, &p)
	return p, err
}

// AllAudit returns every record f selects after f.After, oldest first,
// following the pages (f.Limit records per request, MaxPageSize when 0).
// Records appended while the pages are read are included when they match.
func (c *Client) AllAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	if f.Limit == 0 {
		f.Limit = MaxPageSize
	}
	var out []AuditRecord
	for {
		p, err := c.Audit(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == 0 || len(p.Items) == 0 || p.Next <= f.After {
			return out, nil
		}
		f.After = p.Next
	}
}
