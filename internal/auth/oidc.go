package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/flymodel/flymodel/api"
)

// OIDCConfig configures verification of JWT bearer tokens issued by an
// OpenID Connect provider (the auth.oidc configuration keys).
type OIDCConfig struct {
	// Issuer is the issuer URL; its /.well-known/openid-configuration is
	// fetched by NewOIDC, and tokens must carry it as their iss claim.
	Issuer string
	// Audience must be one of a token's aud values.
	Audience string
	// RoleClaim names the claim (a string or an array of strings) whose
	// values are looked up in Roles.
	RoleClaim string
	// Roles maps a value of the role claim to a grant: "read", "write" or
	// "admin" for every namespace, or "<role>:<namespace>" for one.
	Roles map[string]string
	// JWKSMinRefresh is the least time between two fetches of the issuer's
	// key set (a token naming an unknown key makes one); 0 means
	// DefaultJWKSMinRefresh.
	JWKSMinRefresh time.Duration
	// ClientID enables sign-in to the web UI through the issuer (the
	// authorization-code flow with PKCE); ID tokens must name it as their
	// audience. "" disables it.
	ClientID string
	// ClientSecret authenticates a confidential client at the token
	// endpoint (HTTP Basic); "" for a public client.
	ClientSecret string
	// Scopes are asked for at sign-in; nil means DefaultOIDCScopes.
	Scopes []string
	// RedirectURL is the callback URL registered at the issuer; "" lets
	// the caller derive it from the request.
	RedirectURL string
}

// DefaultOIDCScopes are the scopes asked for at sign-in by default.
var DefaultOIDCScopes = []string{"openid", "profile", "email"}

// OIDC verifies JWT bearer tokens against an OpenID Connect issuer and maps
// their claims to grants. It is safe for concurrent use. Signing keys come
// from the issuer's JWKS, cached and fetched again when a token names a key
// the cache does not hold (key rotation), at most once per
// OIDCConfig.JWKSMinRefresh; a token whose iss claim is not the issuer is
// refused before that.
type OIDC struct {
	issuer    string
	verifier  *oidc.IDTokenVerifier
	keys      *keySet
	roleClaim string
	roles     map[string]Grant
	client    *http.Client

	// The authorization-code flow, when ClientID is set.
	clientID     string
	clientSecret string
	scopes       []string
	redirectURL  string
	authURL      string
	tokenURL     string
	idVerifier   *oidc.IDTokenVerifier
}

// oidcHTTPTimeout bounds discovery and JWKS requests when NewOIDC is not
// given a client: http.DefaultClient would let a stalled issuer hang every
// verification waiting on a key refresh.
const oidcHTTPTimeout = 30 * time.Second

// maxJWTLen is the longest token Verify will parse (BearerToken's limit too).
const maxJWTLen = 8192

// oidcAlgs are the signing algorithms accepted when the issuer advertises
// them; none of them is symmetric or "none".
var oidcAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// defaultOIDCAlgs are accepted when the issuer advertises none of oidcAlgs.
var defaultOIDCAlgs = []string{oidc.RS256, oidc.ES256}

// NewOIDC discovers cfg.Issuer and returns a verifier for its tokens. client
// is used for discovery and for fetching keys; nil means a default client
// with a timeout. ctx bounds discovery only.
func NewOIDC(ctx context.Context, cfg OIDCConfig, client *http.Client) (*OIDC, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oidc: issuer required")
	}
	if cfg.Audience == "" {
		return nil, fmt.Errorf("oidc: issuer %q: audience required", cfg.Issuer)
	}
	if cfg.RoleClaim == "" && len(cfg.Roles) > 0 {
		return nil, fmt.Errorf("oidc: issuer %q: role claim required with a role mapping", cfg.Issuer)
	}
	roles := make(map[string]Grant, len(cfg.Roles))
	for value, mapping := range cfg.Roles {
		g, err := parseRoleMapping(mapping)
		if err != nil {
			return nil, fmt.Errorf("oidc: role mapping for %q: %w", value, err)
		}
		roles[value] = g
	}

	if client == nil {
		client = &http.Client{Timeout: oidcHTTPTimeout}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovering issuer %q: %w", cfg.Issuer, err)
	}
	var meta struct {
		JWKSURI  string   `json:"jwks_uri"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
		AuthURL  string   `json:"authorization_endpoint"`
		TokenURL string   `json:"token_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc: discovering issuer %q: %w", cfg.Issuer, err)
	}
	var algs []string
	for _, a := range meta.Algs {
		if slices.Contains(oidcAlgs, a) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = defaultOIDCAlgs
	}
	if meta.JWKSURI == "" {
		return nil, fmt.Errorf("oidc: discovering issuer %q: no jwks_uri", cfg.Issuer)
	}
	minRefresh := cfg.JWKSMinRefresh
	if minRefresh <= 0 {
		minRefresh = DefaultJWKSMinRefresh
	}
	keys := &keySet{url: meta.JWKSURI, client: client, minRefresh: minRefresh, now: time.Now}
	for _, a := range algs {
		keys.algs = append(keys.algs, jose.SignatureAlgorithm(a))
	}
	o := &OIDC{
		issuer: cfg.Issuer,
		verifier: oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
			ClientID:             cfg.Audience,
			SupportedSigningAlgs: algs,
		}),
		keys:      keys,
		roleClaim: cfg.RoleClaim,
		roles:     roles,
		client:    client,
	}
	if cfg.ClientID != "" {
		if meta.AuthURL == "" || meta.TokenURL == "" {
			return nil, fmt.Errorf("oidc: issuer %q: sign-in (client_id) needs authorization_endpoint and token_endpoint in its discovery document", cfg.Issuer)
		}
		o.clientID, o.clientSecret, o.redirectURL = cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL
		o.authURL, o.tokenURL = meta.AuthURL, meta.TokenURL
		o.scopes = cfg.Scopes
		if len(o.scopes) == 0 {
			o.scopes = DefaultOIDCScopes
		}
		if !slices.Contains(o.scopes, "openid") {
			o.scopes = append([]string{"openid"}, o.scopes...)
		}
		o.idVerifier = oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
			ClientID:             cfg.ClientID,
			SupportedSigningAlgs: algs,
		})
	}
	return o, nil
}

// parseRoleMapping parses "read", "write", "admin" (every namespace) or
// "<role>:<namespace>".
func parseRoleMapping(s string) (Grant, error) {
	roleName, ns, scoped := strings.Cut(s, ":")
	role, err := ParseRole(roleName)
	if err != nil || role == None {
		return Grant{}, fmt.Errorf("invalid value %q (want read, write or admin, or <role>:<namespace>)", s)
	}
	if scoped && !validNamespace(ns) {
		return Grant{}, fmt.Errorf("invalid namespace in %q", s)
	}
	return Grant{Namespace: ns, Role: role}, nil
}

// validNamespace reports whether ns is a possible namespace name: a single
// path segment of 1–255 characters without control characters, not . or ..
func validNamespace(ns string) bool {
	if ns == "" || len(ns) > 255 || ns == "." || ns == ".." || strings.Contains(ns, "/") {
		return false
	}
	for _, r := range ns {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Verify checks a JWT bearer token: signature by one of the issuer's keys,
// issuer, audience, expiry (and not-before). Every failure wraps
// ErrInvalidToken; the message says more, for the server log only. A valid
// token whose role claim maps to nothing yields a principal without grants.
func (o *OIDC) Verify(ctx context.Context, raw string) (Principal, error) {
	p, _, err := o.verify(ctx, o.verifier, raw)
	return p, err
}

// verify checks raw with verifier and maps its claims to a principal.
func (o *OIDC) verify(ctx context.Context, verifier *oidc.IDTokenVerifier, raw string) (Principal, *oidc.IDToken, error) {
	if len(raw) > maxJWTLen || !LooksLikeJWT(raw) {
		return Principal{}, nil, fmt.Errorf("%w: oidc: not a JWT", ErrInvalidToken)
	}
	// Another issuer's token (or junk) is refused before its signature is
	// checked, which may fetch the key set; the verifier checks the
	// issuer again once the signature holds.
	if iss, ok := unverifiedIssuer(raw); !ok || iss != o.issuer {
		return Principal{}, nil, fmt.Errorf("%w: oidc: token not issued by %s", ErrInvalidToken, o.issuer)
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		// %v, not %w: callers must not tell expiry from a bad signature.
		return Principal{}, nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Principal{}, nil, fmt.Errorf("%w: oidc: token without sub claim", ErrInvalidToken)
	}
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, nil, fmt.Errorf("%w: oidc: claims: %v", ErrInvalidToken, err)
	}
	p := Principal{Name: api.ActorOIDCPrefix + tok.Subject}
	for _, v := range claimValues(claims[o.roleClaim]) {
		if g, ok := o.roles[v]; ok && !slices.Contains(p.Grants, g) {
			p.Grants = append(p.Grants, g)
		}
	}
	return p, tok, nil
}

// unverifiedIssuer is the iss claim of a compact JWS, read without
// checking anything.
func unverifiedIssuer(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", false
	}
	return claims.Iss, true
}

// claimValues reads a claim that is a string or an array of strings; other
// values (and non-string array elements) give nothing.
func claimValues(raw json.RawMessage) []string {
	var one string
	var many []any
	switch {
	case len(raw) == 0:
		return nil
	case raw[0] == '"':
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		return []string{one}
	case raw[0] != '[' || json.Unmarshal(raw, &many) != nil:
		return nil
	}
	var out []string
	for _, v := range many {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// LooksLikeJWT reports whether token has the shape of a compact JWS: three
// non-empty unpadded base64url segments separated by dots. API tokens
// ("fm_…") have no dots.
func LooksLikeJWT(token string) bool {
	if strings.Count(token, ".") != 2 {
		return false
	}
	for _, p := range strings.Split(token, ".") {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
